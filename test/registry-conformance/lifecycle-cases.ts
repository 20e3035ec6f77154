import assert from "node:assert/strict";
import { describe } from "node:test";
import { Limits, type ProcessAwaitOutput } from "../../src/model/index.ts";
import { inSession, registration, rejectsWith, type Case } from "./fixtures.ts";

const OUTCOMES: [ProcessAwaitOutput, string][] = [
  [{ type: "success", value: { answer: 42 }, control: { next: "x" } }, "completed"],
  [{ type: "failure", class: "execution", code: "boom", message: "it broke", raw: [1] }, "failed"],
  [{ type: "cancelled", message: "stopped", reason: "user" }, "cancelled"],
  [{ type: "abandoned", evidence: { writer: "engine_gave_up", atMs: 1700000000000 } }, "abandoned"],
];

export function lifecycleCases(test: Case): void {
  describe("markStarted / setStatus / recordRetry", () => {
    test("register with startRun registers and starts in one call, once per key, and leaves terminal rows alone", async (registry) => {
      const first = await registry.register(registration("lc-start"), { startRun: "inv-1/1" });
      assert.equal(first.created, true);
      assert.equal(first.record.status, "running");
      const again = await registry.register(registration("lc-start"), { startRun: "inv-1/1" });
      assert.equal(again.created, false);
      const started = (await registry.eventsAfter("lc-start", 0)).filter((e) => e.type === "process.started");
      assert.deepEqual(
        started.map((e) => [e.payload, e.replayKey]),
        [[{ attempt: 1 }, "inv-1/1"]],
      );
      await registry.complete("lc-start", { type: "success", value: 1 });
      const late = await registry.register(registration("lc-start"), { startRun: "inv-2/1" });
      assert.equal(late.record.status, "completed");
      assert.equal((await registry.eventsAfter("lc-start", 0)).filter((e) => e.type === "process.started").length, 1);
    });

    test("register with startRun as a function starts under the key for the row's attempt, and the returned row is the stored one", async (registry) => {
      const keyFor = (attempt: number) => `inv-f/${attempt}`;
      const first = await registry.register(registration("lc-fn"), { startRun: keyFor });
      assert.deepEqual(first.record, await registry.get("lc-fn"));
      await registry.recordRetry("lc-fn", { fromAttempt: 1 });
      const second = await registry.register(registration("lc-fn"), { startRun: keyFor });
      assert.deepEqual(second.record, await registry.get("lc-fn"));
      assert.deepEqual(
        (await registry.eventsAfter("lc-fn", 0)).filter((e) => e.type === "process.started").map((e) => [e.payload, e.replayKey]),
        [
          [{ attempt: 1 }, "inv-f/1"],
          [{ attempt: 2 }, "inv-f/2"],
        ],
      );
    });

    test("register with startRun again under the same key is a replay: resumed, whatever was written since", async (registry) => {
      const first = await registry.register(registration("lc-replay"), { startRun: "inv-r/1" });
      assert.equal(first.resumed, undefined);
      await registry.requestCancel("lc-replay", { reason: "later", replayKey: "c-1", expiresAtMs: Date.now() + 60_000 });
      const replay = await registry.register(registration("lc-replay"), { startRun: "inv-r/1" });
      assert.deepEqual([replay.resumed, replay.cancelRequested], [true, undefined], "the first try saw no cancel, so the replay does not either");
      await registry.complete("lc-replay", { type: "success", value: 1 });
      assert.equal((await registry.register(registration("lc-replay"), { startRun: "inv-r/1" })).resumed, true, "nor the outcome written since");
      const other = await registry.register(registration("lc-replay"), { startRun: "inv-other/1" });
      assert.deepEqual([other.resumed, other.record.status], [undefined, "cancelled"], "another run key finds the terminal row");
    });

    test("markAwaited: complete answers awaited only when a caller marked the live row first", async (registry) => {
      assert.equal(await registry.markAwaited("aw-none"), undefined);
      assert.equal(await registry.get("aw-none"), undefined, "an unknown id leaves nothing behind");
      await registry.register(registration("aw-yes"));
      assert.equal((await registry.markAwaited("aw-yes"))?.status, "pending");
      assert.equal((await registry.complete("aw-yes", { type: "success", value: 1 }, { replayKey: "r" })).awaited, true);
      assert.equal((await registry.complete("aw-yes", { type: "success", value: 1 }, { replayKey: "r" })).awaited, true, "a replay answers the same");
      await registry.register(registration("aw-no"));
      assert.equal((await registry.complete("aw-no", { type: "success", value: 2 })).awaited, false);
      assert.deepEqual((await registry.markAwaited("aw-no"))?.outcome, { type: "success", value: 2 }, "after the outcome: the row, with it");
      assert.equal((await registry.complete("aw-no", { type: "success", value: 2 })).awaited, false, "a mark after the outcome changes nothing");
    });

    test("register with sessionCap refuses a NEW row once its session owns that many live processes, and writes nothing", async (registry) => {
      await registry.register(inSession("cap-1", "s-cap"), { sessionCap: 2 });
      await registry.register(inSession("cap-2", "s-cap"), { sessionCap: 2, startRun: "inv-c/1" });
      await rejectsWith(
        registry.register(inSession("cap-3", "s-cap"), { sessionCap: 2, startRun: "inv-c3/1" }),
        "resource_limit",
        "registration.provenance.ownerScope.sessionId",
      );
      assert.equal(await registry.get("cap-3"), undefined);
      assert.equal((await registry.register(inSession("cap-1", "s-cap"), { sessionCap: 2 })).created, false, "an existing id passes");
      assert.equal((await registry.register(inSession("cap-other", "s-other"), { sessionCap: 2 })).created, true, "another session passes");
      await registry.complete("cap-1", { type: "success", value: null });
      assert.equal((await registry.register(inSession("cap-3", "s-cap"), { sessionCap: 2 })).created, true, "finished processes do not count");
    });

    test("registrations requested together (one turn) under a sessionCap never exceed it", async (registry) => {
      // On PostgreSQL these are one group commit, the inserts one batched statement.
      const ids = Array.from({ length: 5 }, (_, i) => `cap-together-${i}`);
      const settled = await Promise.allSettled(ids.map((id) => registry.register(inSession(id, "s-together"), { sessionCap: 2, startRun: `inv-${id}/1` })));
      assert.equal(settled.filter((s) => s.status === "fulfilled").length, 2);
      for (const s of settled) if (s.status === "rejected") assert.equal((s.reason as { code?: string }).code, "resource_limit");
      assert.equal(await registry.countSessionProcesses("s-together", 10), 2);
    });

    test("markStarted sets running and appends one process.started per replay key", async (registry) => {
      await registry.register(registration("lc-a"));
      const started = await registry.markStarted("lc-a", "inv-1");
      assert.equal(started.status, "running");
      const [event] = await registry.eventsAfter("lc-a", 0);
      assert.deepEqual([event?.sequence, event?.type, event?.payload, event?.replayKey], [1, "process.started", { attempt: 1 }, "inv-1"]);
      await registry.setStatus("lc-a", "waiting");
      const retried = await registry.markStarted("lc-a", "inv-1");
      assert.equal(retried.status, "waiting", "a retried markStarted changes nothing");
      assert.equal((await registry.eventsAfter("lc-a", 0)).length, 1);
      await registry.recordRetry("lc-a");
      const second = await registry.markStarted("lc-a", "inv-2");
      assert.equal(second.status, "running");
      const events = await registry.eventsAfter("lc-a", 0);
      assert.deepEqual(
        events.map((e) => [e.sequence, e.payload, e.replayKey]),
        [
          [1, { attempt: 1 }, "inv-1"],
          [2, { attempt: 2 }, "inv-2"],
        ],
      );
    });

    test("markStarted on a terminal row returns it unchanged and appends nothing", async (registry) => {
      await registry.register(registration("lc-b"));
      const { record } = await registry.complete("lc-b", { type: "cancelled", message: "before start" });
      const after = await registry.markStarted("lc-b", "inv-late");
      assert.deepEqual(after, record);
      assert.deepEqual(
        (await registry.eventsAfter("lc-b", 0)).map((e) => e.type),
        ["process.cancelled"],
      );
    });

    test("setStatus moves running <-> waiting and leaves a terminal row alone", async (registry) => {
      await registry.register(registration("lc-c"));
      await registry.markStarted("lc-c", "inv-1");
      await registry.setStatus("lc-c", "waiting");
      assert.equal((await registry.get("lc-c"))?.status, "waiting");
      await registry.setStatus("lc-c", "running");
      assert.equal((await registry.get("lc-c"))?.status, "running");
      await registry.complete("lc-c", { type: "success", value: null });
      await registry.setStatus("lc-c", "waiting");
      assert.equal((await registry.get("lc-c"))?.status, "completed");
      assert.equal((await registry.eventsAfter("lc-c", 0)).length, 2, "setStatus appends no event");
    });

    test("recordRetry adds one to attempt and puts the row back to pending; a terminal row is unchanged", async (registry) => {
      await registry.register(registration("lc-d"));
      await registry.markStarted("lc-d", "inv-1");
      const retried = await registry.recordRetry("lc-d");
      assert.deepEqual([retried.attempt, retried.status], [2, "pending"]);
      assert.equal((await registry.recordRetry("lc-d")).attempt, 3);
      assert.equal((await registry.get("lc-d"))?.attempt, 3);
      const { record } = await registry.complete("lc-d", { type: "abandoned", evidence: { writer: "sweep", atMs: 1 } });
      assert.deepEqual(await registry.recordRetry("lc-d"), record);
    });

    test("recordRetry with fromAttempt is a compare-and-set: two sweepers count one failure once", async (registry) => {
      await registry.register(registration("lc-cas"));
      await registry.markStarted("lc-cas", "inv-1");
      const both = await Promise.allSettled([registry.recordRetry("lc-cas", { fromAttempt: 1 }), registry.recordRetry("lc-cas", { fromAttempt: 1 })]);
      const won = both.filter((r) => r.status === "fulfilled");
      const lost = both.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1, "exactly one sweeper bumps the attempt");
      assert.equal(lost[0]?.reason?.code, "stale_attempt");
      assert.equal((await registry.get("lc-cas"))?.attempt, 2);
      assert.equal((await registry.recordRetry("lc-cas", { fromAttempt: 2 })).attempt, 3);
    });
  });

  describe("complete", () => {
    test("each outcome type writes its terminal event and status atomically", async (registry) => {
      for (const [i, [output, status]] of OUTCOMES.entries()) {
        const id = `lc-out-${i}`;
        await registry.register(registration(id));
        await registry.markStarted(id, "inv-1");
        const result = await registry.complete(id, output);
        assert.equal(result.disposition, "applied");
        assert.deepEqual(result.outcome, output);
        assert.deepEqual([result.record.status, result.record.outcome], [status, output]);
        assert.deepEqual([result.event.type, result.event.payload, result.event.sequence], [`process.${status}`, output, 2]);
        assert.deepEqual(await registry.get(id), result.record);
        assert.deepEqual((await registry.eventsAfter(id, 0)).at(-1), result.event);
      }
    });

    test("a second identical complete is already_applied; a different one is superseded and returns the first outcome", async (registry) => {
      await registry.register(registration("lc-e"));
      const first = await registry.complete("lc-e", { type: "success", value: { a: 1, b: 2 } });
      const same = await registry.complete("lc-e", { type: "success", value: { b: 2, a: 1 } });
      assert.equal(same.disposition, "already_applied");
      assert.deepEqual([same.outcome, same.event, same.record], [first.outcome, first.event, first.record]);
      const other = await registry.complete("lc-e", { type: "failure", class: "timeout", code: "late", message: "too late" });
      assert.equal(other.disposition, "superseded");
      assert.deepEqual([other.outcome, other.event], [first.outcome, first.event]);
      assert.equal((await registry.get("lc-e"))?.status, "completed");
      const terminal = (await registry.eventsAfter("lc-e", 0)).filter((e) => e.type.startsWith("process."));
      assert.deepEqual(
        terminal.map((e) => e.type),
        ["process.completed"],
      );
    });

    test("the terminal event carries the writer's replayKey, even the key its run gave markStarted", async (registry) => {
      await registry.register(registration("lc-h"));
      await registry.markStarted("lc-h", "inv-1");
      const mine = await registry.complete("lc-h", { type: "success", value: 1 }, { replayKey: "inv-1" });
      assert.deepEqual([mine.disposition, mine.event.replayKey, mine.event.sequence], ["applied", "inv-1", 2]);
      const late = await registry.complete("lc-h", { type: "success", value: 1 }, { replayKey: "inv-2" });
      assert.deepEqual([late.disposition, late.event], ["already_applied", mine.event], "a later writer learns the outcome is not its own");
      assert.deepEqual(
        (await registry.eventsAfter("lc-h", 0)).map((e) => [e.type, e.replayKey]),
        [
          ["process.started", "inv-1"],
          ["process.completed", "inv-1"],
        ],
      );
      await registry.register(registration("lc-i"));
      const anonymous = await registry.complete("lc-i", { type: "cancelled", message: "no writer key" });
      assert.equal("replayKey" in anonymous.event, false);
    });

    test("concurrent complete calls: exactly one is applied and one terminal event exists", async (registry) => {
      await registry.register(registration("lc-f"));
      const offers = OUTCOMES.map(([output]) => output);
      const results = await Promise.all(offers.map((o) => registry.complete("lc-f", o)));
      assert.equal(results.filter((r) => r.disposition === "applied").length, 1);
      const winner = results.find((r) => r.disposition === "applied")!;
      for (const r of results) assert.deepEqual([r.outcome, r.event], [winner.outcome, winner.event]);
      const events = await registry.eventsAfter("lc-f", 0);
      assert.deepEqual(events, [winner.event]);
    });

    test("an invalid or oversize output is refused and nothing is written", async (registry) => {
      await registry.register(registration("lc-g"));
      await rejectsWith(registry.complete("lc-g", { type: "failure", class: "bogus", code: "x", message: "" } as never), "invalid_input", "output.class");
      await rejectsWith(registry.complete("lc-g", { type: "finished" } as never), "invalid_input", "output.type");
      await rejectsWith(registry.complete("lc-g", { type: "success", value: "x".repeat(Limits.outcomeMaxBytes) }), "limit_exceeded", "output");
      const record = await registry.get("lc-g");
      assert.deepEqual([record?.status, record?.outcome], ["pending", undefined]);
      assert.deepEqual(await registry.eventsAfter("lc-g", 0), []);
    });
  });
}
