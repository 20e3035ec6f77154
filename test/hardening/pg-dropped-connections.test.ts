/**
 * PostgreSQL restarts and failovers must cost retries, never the endpoint:
 * `pg_terminate_backend` on every connection of the endpoint's registry (pool and
 * LISTEN session), round after round, while processes run.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PostgresRegistry } from "../../src/registry/postgres-registry.ts";
import { pidGone } from "../support/child.ts";
import { freshSchema, pgQuery, type TestSchema } from "../support/pg.ts";
import { waitFor } from "../support/restate-server.ts";
import { mapConcurrent, startCluster, startProcess, stepsRegistration, type Cluster } from "../multi-worker/cluster.ts";

const PROCESSES = 60;
const ROUNDS = 30;
const APP = `lash_drop_${process.pid}`;

describe("dropped PostgreSQL connections never take the endpoint down", () => {
  let schema: TestSchema | undefined;
  let cluster: Cluster | undefined;
  let registry: PostgresRegistry | undefined;
  let dir = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lash-pg-drop-"));
    schema = await freshSchema("lash_drop");
    cluster = await startCluster({ endpoints: 1, direct: true, schema, registryParams: { application_name: APP }, env: { RESTATE_LOGGING: "WARN" } });
    registry = await PostgresRegistry.open(schema.url());
  });

  after(async () => {
    await registry?.close();
    const pids = cluster?.pids() ?? [];
    await cluster?.close();
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
    for (const pid of pids) assert.ok(pidGone(pid), `pid ${pid} is still running`);
  });

  it(`${ROUNDS} rounds of pg_terminate_backend under load: the endpoint stays up and every process finishes`, async () => {
    const { ingress, endpoints } = cluster!;
    const endpoint = endpoints[0]!;
    const file = join(dir, "steps.log");
    const ids = Array.from({ length: PROCESSES }, (_, i) => `drop-${i}`);
    await mapConcurrent(ids, 8, (id) => startProcess(ingress, stepsRegistration(id, { count: 20, file, stepMs: 10 })));

    let killed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const rows = await pgQuery<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()`,
        [`${APP}%`],
      );
      killed += rows[0]?.n ?? 0;
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(!pidGone(endpoint.pid), `endpoint exited in round ${round}:\n${endpoint.output().slice(-3000)}`);
    }
    assert.ok(killed >= ROUNDS, `terminated ${killed} connections`);

    await waitFor(
      async () => {
        const records = await Promise.all(ids.map((id) => registry!.get(id)));
        return records.every((r) => r?.status === "completed");
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `${PROCESSES} processes completed` },
    );
    assert.ok(!pidGone(endpoint.pid), "endpoint still running");
    assert.equal(endpoint.pids.length, 1, "never restarted");
    assert.doesNotMatch(endpoint.output(), /Unhandled 'error' event/);
  });
});
