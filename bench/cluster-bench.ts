/**
 * 3-step throughput on a 3-node Restate cluster (replication 2, loopback; the same cluster
 * as test/multi-worker/restate-cluster.test.ts): lash (`LashProcessWorkflow/run` of the bench
 * 3-step program, PostgreSQL registry) vs a bare Restate workflow with three `ctx.run` steps,
 * both endpoints registered with the same cluster, closed loop at a fixed concurrency.
 *
 *   node bench/cluster-bench.ts                            # 10 s per system per round, concurrency 32, 2 rounds
 *   DURATION_MS=5000 CONCURRENCY=16 ROUNDS=1 node bench/cluster-bench.ts
 *
 * Needs PostgreSQL (LASH_TEST_PG_URL). Prints a markdown table (median round per system).
 * On a shared 2-core machine the three nodes, two endpoints, PostgreSQL and the load
 * generator compete for the same cores: read the ratio, not the absolute numbers.
 */
import { cpus, loadavg } from "node:os";
import { startEndpointProcess, type EndpointProcess } from "../test/support/endpoint-process.ts";
import { freshSchema } from "../test/support/pg.ts";
import { startRestateCluster } from "../test/support/restate-cluster.ts";
import { registerDeployment, waitFor } from "../test/support/restate-server.ts";
import { onCleanup, runCleanups } from "./lib/cleanup.ts";
import { closeClient } from "./lib/http-client.ts";
import { endpointEntry } from "./lib/build-endpoints.ts";
import { closedLoop } from "./lib/load.ts";
import { runner, type System } from "./lib/requests.ts";
import { fmt, median, summarize } from "./lib/stats.ts";

const DURATION_MS = Number(process.env.DURATION_MS ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const STEPS = 3;
const WARMUP = 50;

const cluster = await startRestateCluster({ nodes: 3 });
const unCluster = onCleanup("restate cluster", () => cluster.stop());
const schema = await freshSchema("lash_cbench");
const unSchema = onCleanup(`schema ${schema.name}`, () => schema.drop());
const [n1] = cluster.nodes as [(typeof cluster.nodes)[0]];
const endpoints: EndpointProcess[] = [];
try {
  const env = { RESTATE_LOGGING: "WARN" };
  const lash = await startEndpointProcess({
    entry: await endpointEntry("bench/lash-endpoint"),
    env: { ...env, LASH_REGISTRY_URL: schema.url(), LASH_RECOVER_ON_START: "0", RESTATE_ADMIN_URL: n1.adminUrl, RESTATE_INGRESS_URL: n1.ingressUrl },
  });
  endpoints.push(lash);
  const bare = await startEndpointProcess({ entry: await endpointEntry("bench/bare-endpoint"), env });
  endpoints.push(bare);
  for (const ep of endpoints) {
    await waitFor(
      async () =>
        registerDeployment(n1.adminUrl, ep.url).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 60_000, intervalMs: 500, what: "deployment" },
    );
  }

  const rounds: Record<System, { perSecond: number; p50: number; p99: number; errors: number }[]> = { bare: [], lash: [], "lash-start": [] };
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const system of ["bare", "lash"] as const) {
      const run = runner(n1.ingressUrl, system, STEPS);
      const prefix = `cb-${system}-${round}-`;
      await closedLoop({ concurrency: CONCURRENCY, durationMs: 30_000, maxRequests: WARMUP, request: (i) => run(`${prefix}w${i}-${n++}`) });
      const load = await closedLoop({ concurrency: CONCURRENCY, durationMs: DURATION_MS, maxRequests: 1_000_000, request: (i) => run(`${prefix}${i}-${n++}`) });
      const lat = summarize(load.latenciesMs);
      rounds[system].push({ perSecond: load.completed / (load.elapsedMs / 1000), p50: lat.p50, p99: lat.p99, errors: load.errors });
      if (load.firstError) console.error(`${system}: first error: ${load.firstError}`);
    }
  }

  console.log(
    `\n3-node Restate cluster (replication 2), ${STEPS} steps, concurrency ${CONCURRENCY}, ${DURATION_MS} ms x ${ROUNDS} round(s); ` +
      `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at the end\n`,
  );
  console.log("| System | processes/s (median round) | p50 ms | p99 ms | errors |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const system of ["bare", "lash"] as const) {
    const r = rounds[system];
    console.log(
      `| ${system === "bare" ? "bare workflow (3 ctx.run)" : "lash (LashProcessWorkflow/run, PostgreSQL registry)"} | ` +
        `${fmt(median(r.map((x) => x.perSecond)))} | ${fmt(median(r.map((x) => x.p50)))} | ${fmt(median(r.map((x) => x.p99)))} | ${r.reduce((a, x) => a + x.errors, 0)} |`,
    );
  }
  const ratio = median(rounds.lash.map((x) => x.perSecond)) / median(rounds.bare.map((x) => x.perSecond));
  console.log(`\nlash / bare throughput: ${fmt(ratio, 2)}`);
} finally {
  closeClient();
  for (const ep of endpoints.reverse()) await ep.stop();
  unSchema();
  await schema.drop();
  unCluster();
  await cluster.stop();
  await runCleanups();
}
