import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ProcessAwaitOutput } from "../../src/model/index.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";
import { adminQuery, journalOf, waitFor } from "../support/restate-server.ts";
import { registration, startLashStack, type LashStack } from "../support/lash-stack.ts";
import { overrideMethod } from "../support/registry-override.ts";
import { releaseBlockedStep, testPlugin } from "../support/test-plugin.ts";

/**
 * `waitFor` writes the row's status (`waiting`, then `running`) without journal entries, and a
 * replay does not write again what the first execution wrote (src/runtime/status-write.ts).
 * Restate suspends an idle run after 1 s here, so each signal resumes the run by a replay.
 */
describe("status writes around a wait", () => {
  let s: LashStack;
  let dir: string;
  const statusWrites: string[] = [];
  /** Ids whose next status write fails (once). */
  const failNextWrite = new Set<string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lash-status-"));
    const registry = countingStatusWrites(SqliteRegistry.open(join(dir, "registry.db")), statusWrites, failNextWrite);
    s = await startLashStack({ plugins: [testPlugin], registry, serverEnv: { RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT: "1s" } });
  });
  after(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const statusOf = async (id: string) => (await s.registry.get(id))?.status;
  const reaches = (id: string, status: string) => waitFor(async () => (await statusOf(id)) === status, { timeoutMs: 20_000, what: `${id} ${status}` });
  const runQuery = (id: string) =>
    `SELECT status FROM sys_invocation WHERE target_service_name = 'LashProcessWorkflow' AND target_handler_name = 'run' AND target_service_key = '${id}'`;
  const suspended = (id: string) =>
    waitFor(async () => (await adminQuery<{ status: string }>(s.admin, runQuery(id)))[0]?.status === "suspended", {
      timeoutMs: 20_000,
      what: `${id} suspended`,
    });
  const signal = async (id: string, payload: string) => {
    const res = await s.post(`/LashProcessWorkflow/${id}/signal`, { name: "go", payload });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  it("a resumed wait writes `running` once, journals no status step, and a replay repeats no write", async () => {
    const id = "status-replay";
    const started = await s.post("/LashProcesses/start", {
      registration: registration(id, { type: "program", name: "test.wait_block_wait", args: { key: id } }),
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    await reaches(id, "waiting");
    await suspended(id);

    // Resumed by a replay: `running` is written once the replay has caught up with the journal.
    await signal(id, "one");
    await reaches(id, "running");
    releaseBlockedStep(id);
    await reaches(id, "waiting");
    await suspended(id);

    // The second replay passes the first wait and the step before it waits again.
    await signal(id, "two");
    const out = (await s.post<ProcessAwaitOutput>(`/LashProcessWorkflow/${id}/awaitTerminal`)).body;
    assert.deepEqual(out, { type: "success", value: { first: "one", second: "two" } });

    // Without the replay check, each replay would write again every status before its point: 8 writes.
    assert.deepEqual(
      statusWrites.filter((w) => w.startsWith(`${id} `)),
      [`${id} waiting`, `${id} running`, `${id} waiting`, `${id} running`],
    );
    const journal = await journalOf(s.admin, { handler: "run", key: id });
    const steps = journal.filter((e) => /Run/.test(e.entry_type)).map((e) => e.name);
    assert.ok(steps.includes("blocked"), `the body's step is journaled: ${JSON.stringify(journal)}`);
    assert.ok(!steps.some((name) => /^status/.test(name ?? "")), `no status step in the journal: ${JSON.stringify(steps)}`);
  });

  it("a failed status write fails the attempt, not the body: Restate retries it and the body never sees the error", async () => {
    const id = "status-fails";
    failNextWrite.add(id);
    const started = await s.post("/LashProcesses/start", { registration: registration(id, { type: "program", name: "test.wait_catching", args: {} }) });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    // Waiting (after the retry), or already ended if the body saw the error and caught it.
    await waitFor(async () => ["waiting", "completed"].includes((await statusOf(id)) ?? ""), { timeoutMs: 20_000, what: `${id} waiting` });
    if ((await statusOf(id)) === "waiting") await signal(id, "after the retry");
    const out = (await s.post<ProcessAwaitOutput>(`/LashProcessWorkflow/${id}/awaitTerminal`)).body;
    // Had the body seen the error, it would have caught it and returned { caught }.
    assert.deepEqual(out, { type: "success", value: { got: "after the retry" } });
    assert.deepEqual(
      statusWrites.filter((w) => w.startsWith(`${id} `)),
      [`${id} waiting`, `${id} waiting`, `${id} running`],
    );
  });
});

/** The registry, recording every `setStatus` as "<id> <status>"; one for an id in `failNext` fails instead (once). */
function countingStatusWrites(registry: ProcessRegistry, writes: string[], failNext: Set<string>): ProcessRegistry {
  return overrideMethod(registry, "setStatus", (inner) => async (id, status) => {
    writes.push(`${id} ${status}`);
    if (failNext.delete(id)) throw new Error("the registry is unavailable (injected)");
    return inner.setStatus(id, status);
  });
}
