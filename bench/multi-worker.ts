/**
 * How lash scales with endpoint processes: N `std.steps` processes (3 steps,
 * stepMs 0) started through `LashProcesses.start` at a fixed concurrency, each
 * awaited until its terminal event is in the PostgreSQL registry (via
 * `waitEventAfter`, i.e. LISTEN/NOTIFY). Configurations: one endpoint registered
 * directly, one behind HAProxy (h2c), two behind HAProxy. One restate-server and
 * one PostgreSQL schema per configuration; everything is stopped by pid afterwards.
 *
 *   npx node bench/multi-worker.ts                     # 500 processes, concurrency 64, 3 rounds
 *   PROCESSES=1000 CONCURRENCY=128 ROUNDS=5 POOL=4 npx node bench/multi-worker.ts
 *
 * Also samples pg_stat_activity every 20 ms during the measured rounds: how many of
 * the endpoints' registry connections were busy (in a statement or transaction), to
 * size `?pool=` from data (POOL sets it for every endpoint; default: the adapter's 10).
 *
 * Needs PostgreSQL (LASH_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test)
 * and haproxy on PATH. Prints a markdown table (median round per configuration).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isTerminalEventType } from "../src/model/index.ts";
import { PostgresRegistry } from "../src/registry/postgres-registry.ts";
import { mapConcurrent, startCluster, startProcess, stepsRegistration } from "../test/multi-worker/cluster.ts";
import { freshSchema, pgQuery } from "../test/support/pg.ts";

const PROCESSES = Number(process.env.PROCESSES ?? 500);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const POOL = process.env.POOL;
const ENDPOINT_APP = "lash-bench-endpoint";
const STEPS = 3;
const WARMUP = 50;

interface Config {
  label: string;
  endpoints: number;
  direct: boolean;
}

const CONFIGS: Config[] = [
  { label: "1 endpoint, registered directly", endpoints: 1, direct: true },
  { label: "1 endpoint behind HAProxy", endpoints: 1, direct: false },
  { label: "2 endpoints behind HAProxy", endpoints: 2, direct: false },
];

interface Round {
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
}

interface Busy {
  mean: number;
  max: number;
}

/** Samples how many endpoint registry connections are busy until `stop()`; returns mean and max. */
function sampleBusyConnections(): { stop(): Promise<Busy> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [row] = await pgQuery<{ busy: string }>(
        "SELECT COUNT(*) FILTER (WHERE state <> 'idle') AS busy FROM pg_stat_activity WHERE application_name = $1",
        [ENDPOINT_APP],
      );
      samples.push(Number(row?.busy ?? 0));
      await delay(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length), max: Math.max(0, ...samples) };
    },
  };
}

/** Resolves when the process's terminal event is in the registry; woken by NOTIFY, no polling. */
async function awaitTerminal(registry: PostgresRegistry, id: string): Promise<void> {
  let after = 0;
  for (;;) {
    const event = await registry.waitEventAfter(id, undefined, after, 60_000);
    if (event === undefined) throw new Error(`${id}: no event for 60 s`);
    if (isTerminalEventType(event.type)) {
      if (event.type !== "process.completed") throw new Error(`${id} ended ${event.type}: ${JSON.stringify(event.payload)}`);
      return;
    }
    after = event.sequence;
  }
}

async function round(ingress: string, registry: PostgresRegistry, file: string, prefix: string, count: number): Promise<Round> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const latencies: number[] = [];
  const started = performance.now();
  await mapConcurrent(ids, CONCURRENCY, async (id) => {
    const t0 = performance.now();
    await startProcess(ingress, stepsRegistration(id, { count: STEPS, file, stepMs: 0 }));
    await awaitTerminal(registry, id);
    latencies.push(performance.now() - t0);
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { seconds, perSecond: count / seconds, p50Ms: at(0.5), p95Ms: at(0.95) };
}

async function measure(config: Config): Promise<{ median: Round; busy: Busy }> {
  const schema = await freshSchema("lash_bench");
  const dir = await mkdtemp(join(tmpdir(), "lash-bench-mw-"));
  const registryParams = { application_name: ENDPOINT_APP, ...(POOL === undefined ? {} : { pool: POOL }) };
  const cluster = await startCluster({ endpoints: config.endpoints, schema, direct: config.direct, registryParams, env: { RESTATE_LOGGING: "WARN" } });
  const registry = await PostgresRegistry.open(schema.url()); // the driver's own connections are not sampled
  try {
    const file = join(dir, "steps.log");
    await round(cluster.ingress, registry, file, "warmup", WARMUP);
    const rounds: Round[] = [];
    const sampler = sampleBusyConnections();
    for (let r = 0; r < ROUNDS; r++) {
      const result = await round(cluster.ingress, registry, file, `r${r}`, PROCESSES);
      process.stderr.write(`  ${config.label}, round ${r + 1}: ${result.perSecond.toFixed(0)}/s\n`);
      rounds.push(result);
    }
    const busy = await sampler.stop();
    rounds.sort((a, b) => a.perSecond - b.perSecond);
    return { median: rounds[Math.floor(rounds.length / 2)]!, busy };
  } finally {
    await registry.close();
    await cluster.close();
    await schema.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0]!;
const results: [Config, { median: Round; busy: Busy }][] = [];
for (const config of CONFIGS) {
  process.stderr.write(`${config.label}…\n`);
  results.push([config, await measure(config)]);
}

const baseline = results.find(([c]) => c.endpoints === 1 && !c.direct)?.[1].median.perSecond ?? 1;
console.log(
  `${PROCESSES} processes × ${STEPS} steps (std.steps, stepMs 0), concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds, ` +
    `registry pool ${POOL ?? "10 (default)"} per endpoint; ${cpus().length} CPUs shared by restate-server, PostgreSQL, ` +
    `HAProxy, the endpoints and this driver (1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after).\n`,
);
console.log("| configuration | processes/s | vs 1 behind HAProxy | p50 start→terminal | p95 start→terminal | busy registry connections (mean / max) |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [config, { median: r, busy }] of results) {
  console.log(
    `| ${config.label} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / baseline).toFixed(2)}× | ${r.p50Ms.toFixed(0)} ms | ` +
      `${r.p95Ms.toFixed(0)} ms | ${busy.mean.toFixed(1)} / ${busy.max} |`,
  );
}
