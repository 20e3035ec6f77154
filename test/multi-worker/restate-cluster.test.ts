/**
 * A 3-node Restate cluster (replication 2) on loopback, two lash endpoints behind HAProxy,
 * one PostgreSQL registry, and a mixed workload in flight (std.steps, durable sleeps,
 * signals, children via std.fanout) while one Restate node is SIGKILLed and restarted and
 * one endpoint is SIGKILLed for good. Every process (children included) ends with exactly
 * one terminal outcome, no finished step runs twice, and no signal is lost.
 * docs/deploy.md's cluster section cites this test.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ProcessRecord } from "../../src/model/index.ts";
import { PostgresRegistry } from "../../src/registry/postgres-registry.ts";
import { pidGone } from "../support/child.ts";
import { startEndpointProcess, type EndpointProcess } from "../support/endpoint-process.ts";
import { haproxyBinary, startHaproxy, type Haproxy } from "../support/haproxy.ts";
import { freshSchema, type TestSchema } from "../support/pg.ts";
import { startRestateCluster, type RestateCluster } from "../support/restate-cluster.ts";
import { registerDeployment, waitFor } from "../support/restate-server.ts";
import { assertNoFinishedStepRepeated } from "../support/crash-stack.ts";
import { mapConcurrent } from "./cluster.ts";

const TERMINAL = new Set(["process.completed", "process.failed", "process.cancelled", "process.abandoned"]);
const SESSION = "cluster";
const SIGNALS = ["before", "during", "after"];

function requireHaproxy(): void {
  try {
    haproxyBinary();
  } catch {
    throw new Error("haproxy is not installed: this test puts two endpoints behind it; install it with `apt-get install haproxy`");
  }
}

describe("a 3-node Restate cluster: a node and an endpoint SIGKILLed under a mixed workload", { timeout: 600_000 }, () => {
  let restate: RestateCluster | undefined;
  let schema: TestSchema | undefined;
  let endpoints: EndpointProcess[] = [];
  let haproxy: Haproxy | undefined;
  let registry: PostgresRegistry | undefined;
  let dir = "";

  before(async () => {
    requireHaproxy();
    dir = await mkdtemp(join(tmpdir(), "lash-cluster-"));
    schema = await freshSchema("lash_cluster");
    restate = await startRestateCluster({ nodes: 3 });
    const [n1, n2] = restate.nodes as [RestateCluster["nodes"][0], RestateCluster["nodes"][0]];
    const env = {
      LASH_REGISTRY_URL: schema.url(),
      LASH_RECOVER_ON_START: "0",
      LASH_ENABLE_TEST_TOOLS: "1",
      RESTATE_ADMIN_URL: n1.adminUrl,
      RESTATE_INGRESS_URL: n2.ingressUrl,
      RESTATE_LOGGING: "WARN",
    };
    endpoints = await Promise.all([0, 1].map(() => startEndpointProcess({ entry: "src/main.ts", env })));
    haproxy = await startHaproxy({ backends: endpoints.map((e, i) => ({ name: `ep${i + 1}`, port: e.port })) });
    // The cluster may still be electing partition leaders: retry the registration for a while.
    await waitFor(
      async () =>
        registerDeployment(n1.adminUrl, haproxy!.url).then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: "the deployment registered with the cluster",
      },
    );
    registry = await PostgresRegistry.open(schema.url());
  });

  after(async () => {
    const pids = [...(restate?.pids() ?? []), ...endpoints.flatMap((e) => e.pids), ...(haproxy ? [haproxy.pid] : [])];
    await registry?.close();
    await haproxy?.stop();
    for (const endpoint of endpoints) await endpoint.stop();
    await restate?.stop();
    await schema?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
    for (const pid of pids) assert.ok(pidGone(pid), `pid ${pid} is still running`);
  });

  it("every process ends once, no finished step repeats, no signal is lost", async () => {
    const nodes = restate!.nodes;
    const [n1, n2, n3] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const file = join(dir, "steps.log");
    const lines = async () => (await readFile(file, "utf8").catch(() => "")).split("\n").filter((l) => l.length > 0);

    /** POST to the first live node that answers; `idempotency-key` makes a retried send count once. */
    const post = async (path: string, body: unknown, idempotencyKey?: string) => {
      let last = "";
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        for (const node of [n1, n2, n3]) {
          if (!node.running()) continue;
          try {
            const res = await fetch(`${node.ingressUrl}${path}`, {
              method: "POST",
              headers: { "content-type": "application/json", ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}) },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(15_000),
            });
            const text = await res.text();
            if (res.ok) return JSON.parse(text) as unknown;
            last = `${res.status} ${text}`;
            if (res.status < 500) throw new Error(`${path} -> ${last}`);
          } catch (err) {
            if (String(err).includes(`${path} ->`)) throw err;
            last = String(err);
          }
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`${path}: no node answered within 60 s (last: ${last})`);
    };
    const start = (id: string, input: unknown) =>
      post("/LashProcesses/start", { registration: { id, input, provenance: { ownerScope: { sessionId: SESSION }, hostProfileId: "" } } }, `start-${id}`);
    const tool = (name: string, args: unknown) => ({ type: "tool_call", call: { tool: name, args } });

    const steps = Array.from({ length: 12 }, (_, i) => `st-${i}`);
    const sleeps = Array.from({ length: 6 }, (_, i) => `sl-${i}`);
    const waiters = Array.from({ length: 6 }, (_, i) => `sg-${i}`);
    const fanouts = Array.from({ length: 4 }, (_, i) => `fo-${i}`);
    await mapConcurrent(steps, 6, (id) => start(id, tool("std.steps", { count: 6, file, stepMs: 400 })));
    await mapConcurrent(sleeps, 6, (id) => start(id, tool("std.sleep", { ms: 4000 })));
    await mapConcurrent(waiters, 6, (id) => start(id, tool("std.wait_signal", { name: "go", count: SIGNALS.length })));
    await mapConcurrent(fanouts, 4, (id) =>
      start(
        id,
        tool("std.fanout", {
          children: [tool("std.sleep", { ms: 3000 }), tool("std.steps", { count: 3, file, stepMs: 300 }), tool("std.echo", { value: id })],
        }),
      ),
    );
    const signal = (id: string, payload: string) => post(`/LashProcessWorkflow/${id}/signal`, { name: "go", payload }, `signal-${id}-${payload}`);
    for (const id of waiters) await signal(id, SIGNALS[0]!);

    // Mid-run: some steps written, most still to go.
    await waitFor(async () => (await lines()).length >= 12, { timeoutMs: 60_000, intervalMs: 50, what: "the first steps" });
    await n2.kill();
    for (const id of waiters) await signal(id, SIGNALS[1]!);
    await waitFor(async () => (await lines()).length >= 30, { timeoutMs: 120_000, intervalMs: 100, what: "progress with a node down" });
    await n2.restart();
    await endpoints[0]!.kill();
    for (const id of waiters) await signal(id, SIGNALS[2]!);

    const all = async (): Promise<ProcessRecord[]> => {
      const out: ProcessRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await registry!.list({ sessionId: SESSION, limit: 1000, ...(cursor ? { cursor } : {}) });
        out.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return out;
    };
    await waitFor(async () => (await registry!.listNonTerminal(1000)).items.length === 0, {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: "every process terminal",
    });

    const records = await all();
    const topLevel = [...steps, ...sleeps, ...waiters, ...fanouts];
    for (const id of topLevel)
      assert.ok(
        records.some((r) => r.id === id),
        `${id} registered`,
      );
    assert.ok(records.length >= topLevel.length + fanouts.length * 3, `children registered (${records.length} rows)`);
    for (const record of records) {
      assert.equal(record.status, "completed", `${record.id}: ${JSON.stringify(record.outcome)}`);
      const events = await registry!.eventsAfter(record.id, 0, 1000);
      assert.equal(events.filter((e) => TERMINAL.has(e.type)).length, 1, `${record.id}: ${events.map((e) => e.type).join(", ")}`);
      assert.equal(events.at(-1)?.type, "process.completed", record.id);
    }

    // No finished step repeated: per process, every step ran and the step numbers never go back
    // (a step in flight when an attempt ended, at our kills or at Restate's own failover, may run again).
    const written = await lines();
    const stepsOf = new Map<string, number>([...steps.map((id): [string, number] => [id, 6])]);
    for (const r of records) if (r.input.type === "tool_call" && r.input.call.tool === "std.steps" && !stepsOf.has(r.id)) stepsOf.set(r.id, 3);
    for (const [id, count] of stepsOf) assert.deepEqual(assertNoFinishedStepRepeated(id, written, count), [], id);

    // No signal lost: every waiter got the three payloads, in send order.
    for (const id of waiters) {
      const record = records.find((r) => r.id === id)!;
      const value = record.outcome?.type === "success" ? (record.outcome.value as { payloads: unknown[] }) : undefined;
      assert.deepEqual(value?.payloads, SIGNALS, id);
    }
  });
});
