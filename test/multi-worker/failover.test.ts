/**
 * Two endpoint processes behind a real HAProxy (h2c), one restate-server, one
 * PostgreSQL registry: 100 `std.steps` processes, one endpoint SIGKILLed midway.
 *
 * The killed endpoint is NOT restarted: the point of running several workers behind a
 * load balancer is that work does not wait for a dead one to come back. Restate retries
 * the interrupted attempts, HAProxy (health check + redispatch) routes them to the
 * survivor, which replays the journal: finished steps are not run again.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isTerminalEventType } from "../../src/model/index.ts";
import { PostgresRegistry } from "../../src/registry/postgres-registry.ts";
import { pidGone } from "../support/child.ts";
import { haproxyBinary } from "../support/haproxy.ts";
import { freshSchema, type TestSchema } from "../support/pg.ts";
import { waitFor } from "../support/restate-server.ts";
import { mapConcurrent, startCluster, startProcess, stepsRegistration, workflowAttempts, type Cluster } from "./cluster.ts";

const PROCESSES = 100;
const STEPS = 5;
const STEP_MS = 100;

describe("two endpoints behind HAProxy (h2c) on one PostgreSQL registry", () => {
  let schema: TestSchema | undefined;
  let cluster: Cluster | undefined;
  let registry: PostgresRegistry | undefined;
  let dir = "";

  before(async () => {
    haproxyBinary(); // fails at once, with the install hint, before anything is started
    dir = await mkdtemp(join(tmpdir(), "lash-multi-worker-"));
    schema = await freshSchema("lash_mw");
    cluster = await startCluster({ endpoints: 2, schema, env: { RESTATE_LOGGING: "INFO" } });
    registry = await PostgresRegistry.open(cluster.registryUrl);
  });

  after(
    async () => {
      await registry?.close();
      const pids = cluster?.pids() ?? [];
      await cluster?.close();
      await schema?.drop();
      await rm(dir, { recursive: true, force: true });
      for (const pid of pids) assert.ok(pidGone(pid), `pid ${pid} is still running`);
    },
    { timeout: 120_000 },
  );

  it(`${PROCESSES} processes of ${STEPS} steps survive a SIGKILL of one endpoint: one terminal event each, no finished step repeated, both endpoints served`, async () => {
    const { ingress, endpoints } = cluster!;
    const [victim, survivor] = endpoints as [(typeof endpoints)[0], (typeof endpoints)[0]];
    const file = join(dir, "steps.log");
    const ids = Array.from({ length: PROCESSES }, (_, i) => `mw-${String(i).padStart(3, "0")}`);
    const lines = async () => (await readFile(file, "utf8").catch(() => "")).split("\n").filter((l) => l.length > 0);

    const started = await mapConcurrent(ids, 16, (id) => startProcess(ingress, stepsRegistration(id, { count: STEPS, file, stepMs: STEP_MS })));
    assert.deepEqual(
      started.map((s) => s.id),
      ids,
    );

    // Midway: about half of all steps written, so most processes have a step in flight.
    const total = PROCESSES * STEPS;
    await waitFor(async () => (await lines()).length >= total / 2, { timeoutMs: 30_000, intervalMs: 10, what: "half of the steps" });
    const linesAtKill = (await lines()).length;
    await victim.kill();

    await waitFor(async () => (await registry!.listNonTerminal(1000)).items.length === 0, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: "every process to reach a terminal status",
    });

    // Every process completed, with exactly one terminal event, the last one.
    for (const id of ids) {
      const record = await registry!.get(id);
      assert.deepEqual([record?.status, record?.outcome], ["completed", { type: "success", value: { steps: STEPS } }], id);
      const events = await registry!.eventsAfter(id, 0, 1000);
      const terminal = events.filter((e) => isTerminalEventType(e.type));
      assert.equal(terminal.length, 1, `${id}: ${events.map((e) => e.type).join(", ")}`);
      assert.equal(events.at(-1)?.type, "process.completed", id);
    }

    // Each step ran; a step repeats only if it was in flight at the kill: at most one line per process.
    const counts = new Map<string, number>();
    for (const line of await lines()) counts.set(line, (counts.get(line) ?? 0) + 1);
    const expected = ids.flatMap((id) => Array.from({ length: STEPS }, (_, i) => `${id} ${i}`));
    assert.deepEqual([...counts.keys()].sort(), [...expected].sort(), "exactly the expected step lines, each at least once");
    const repeatedBy = new Map<string, number>();
    for (const [line, n] of counts) {
      if (n > 2) assert.fail(`"${line}" ran ${n} times`);
      if (n === 2) {
        const id = line.split(" ")[0]!;
        repeatedBy.set(id, (repeatedBy.get(id) ?? 0) + 1);
      }
    }
    for (const [id, n] of repeatedBy) assert.equal(n, 1, `${id} repeated ${n} steps; only the one in flight at the kill may repeat`);

    // Both endpoints served; the survivor took over runs that had started on the victim.
    const onVictim = workflowAttempts(victim.output());
    const onSurvivor = workflowAttempts(survivor.output());
    const movedOver = [...onVictim.keys()].filter((id) => onSurvivor.has(id));
    assert.ok(onVictim.size > 0 && onSurvivor.size > 0, `runs per endpoint: ${onVictim.size} and ${onSurvivor.size}`);
    assert.ok(movedOver.length > 0, "runs interrupted by the kill were resumed on the other endpoint");
    for (const id of repeatedBy.keys()) assert.ok(onVictim.has(id), `${id} repeated a step but never ran on the killed endpoint`);
    const servedByLb = (name: string) =>
      cluster!
        .haproxy!.output()
        .split("\n")
        .filter((l) => l.includes(`lash_endpoints/${name} `)).length;
    assert.ok(servedByLb("ep1") > 0 && servedByLb("ep2") > 0, "HAProxy's log shows requests on both servers");

    // Reported by the test runner, for the deploy docs and for whoever reads a CI log.
    console.info(
      `multi-worker: ${linesAtKill}/${total} steps written at the kill; runs started on victim ${onVictim.size}, survivor ${onSurvivor.size}, ` +
        `moved over ${movedOver.length}; processes with a repeated in-flight step: ${repeatedBy.size}`,
    );
  });
});
