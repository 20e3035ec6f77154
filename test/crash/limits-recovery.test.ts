import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../support/restate-server.ts";
import { assertStepsExactlyOnce, stepInFlight, startCrashStack, type CrashStack } from "../support/crash-stack.ts";

/**
 * Concurrency slots and recovery across crashes: an endpoint SIGKILL between acquire and
 * release, an operator kill that recovery settles, and two recovery keys sweeping one registry.
 */
describe("concurrency slots and recovery across crashes", () => {
  let s: CrashStack;
  before(async () => {
    s = await startCrashStack({ LASH_MAX_CONCURRENT: "std.steps=1" });
  });
  after(async () => s?.close());

  /** Releases are one-way sends after the outcome is written: wait (bounded) until they landed. */
  const allReleased = () =>
    waitFor(
      async () =>
        JSON.stringify((await s.post("/LashConcurrencyLimiter/tool:std.steps/status")).body) === JSON.stringify({ limit: 0, holders: [], queued: [] }),
      {
        timeoutMs: 30_000,
        what: "no slot held after everything ended",
      },
    );
  const status = async (id: string) => (await s.registry.get(id))?.status;

  it("an endpoint SIGKILL while a slot is held leaks nothing: the holder finishes, the queue drains, a later process runs", async () => {
    await s.startSteps("hold", { count: 4, stepMs: 400 });
    // Only once `hold` runs (holds the slot) does `next` start: both runs are async sends, either could win the slot.
    await waitFor(async () => (await s.lines("hold")).length >= 1, { timeoutMs: 30_000, what: "hold's first step" });
    await s.startSteps("next", { count: 2 });
    await waitFor(async () => (await status("next")) === "queued", { timeoutMs: 30_000, what: "next queued" });
    await s.endpoint.kill();
    const inFlight = stepInFlight("hold", await s.lines("hold"));
    await s.endpoint.restart();
    await s.waitTerminal(["hold", "next"]);
    assert.equal(await status("hold"), "completed");
    assert.equal(await status("next"), "completed");
    assert.deepEqual(assertStepsExactlyOnce("hold", await s.lines("hold"), 4, [inFlight]), []);
    assert.deepEqual(assertStepsExactlyOnce("next", await s.lines("next"), 2, []), []);
    await s.startSteps("later", { count: 1 });
    await s.waitTerminal(["later"]);
    await allReleased();
  });

  it("a holder killed by an operator and abandoned by recovery gives its slot to the queue", async () => {
    await s.startSteps("doomed", { count: 4, stepMs: 400 }, { maxAttempts: 1 });
    await waitFor(async () => (await s.lines("doomed")).length >= 1, { timeoutMs: 30_000, what: "doomed's first step" });
    await s.startSteps("waiter", { count: 1 });
    await waitFor(async () => (await status("waiter")) === "queued", { timeoutMs: 30_000, what: "waiter queued" });
    const inv = await s.runInvocation("doomed");
    assert.ok((await fetch(`${s.restate.adminUrl}/invocations/${inv!.id}/kill`, { method: "PATCH" })).ok);
    await waitFor(async () => (await s.runInvocation("doomed"))?.status === "completed", { timeoutMs: 30_000, what: "doomed killed" });
    assert.equal(await status("waiter"), "queued", "nobody released the killed run's slot yet");
    const report = await s.sweep();
    assert.ok(report.reconciled >= 1, JSON.stringify(report));
    assert.equal(await status("doomed"), "abandoned");
    await s.waitTerminal(["waiter"]);
    assert.equal(await status("waiter"), "completed");
    await allReleased();
  });

  it("sweeps under two recovery keys on one registry count each failure once (attempt 1 -> 2, never 3)", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `twokeys-${i}`);
    for (const id of ids) {
      const res = await s.post("/LashProcesses/start", {
        registration: {
          id,
          input: { type: "tool_call", call: { tool: "std.sleep", args: { ms: 600_000 } } },
          provenance: { ownerScope: { sessionId: "twokeys" }, hostProfileId: "" },
        },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    await waitFor(async () => (await Promise.all(ids.map(status))).every((st) => st === "running"), { timeoutMs: 30_000, what: "all running" });
    for (const id of ids) {
      const inv = await s.runInvocation(id);
      await fetch(`${s.restate.adminUrl}/invocations/${inv!.id}/kill`, { method: "PATCH" });
    }
    await waitFor(async () => (await Promise.all(ids.map((id) => s.runInvocation(id)))).every((i) => i?.status === "completed"), {
      timeoutMs: 30_000,
      what: "all killed",
    });
    const [a, b] = await Promise.all([s.post("/LashProcessRecovery/default/sweep", {}), s.post("/LashProcessRecovery/other/sweep", {})]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    const attempts = await Promise.all(ids.map(async (id) => (await s.registry.get(id))?.attempt));
    assert.deepEqual(
      attempts,
      ids.map(() => 2),
      "each killed run was counted once",
    );
    for (const id of ids) await s.post(`/LashProcessWorkflow/${id}/cancel`, {});
    await s.waitTerminal(ids);
  });
});
