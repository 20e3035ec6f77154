import assert from "node:assert/strict";
import { describe } from "node:test";
import { registration, rejectsWith, type Case } from "./fixtures.ts";

export function eventCases(test: Case): void {
  describe("appendEvent / eventsAfter / countEvents", () => {
    test("sequences start at 1 and count up per process, independently of other processes", async (registry) => {
      await registry.register(registration("ev-a"));
      await registry.register(registration("ev-b"));
      const seen: string[] = [];
      for (const [id, n] of [
        ["ev-a", 1],
        ["ev-b", 1],
        ["ev-a", 2],
        ["ev-a", 3],
        ["ev-b", 2],
      ] as const) {
        const event = await registry.appendEvent(id, { type: "note", payload: { n } });
        seen.push(`${id}:${event.sequence}`);
        assert.equal(event.processId, id);
        assert.equal(typeof event.occurredAtMs, "number");
        assert.equal("replayKey" in event, false);
      }
      assert.deepEqual(seen, ["ev-a:1", "ev-b:1", "ev-a:2", "ev-a:3", "ev-b:2"]);
      const events = await registry.eventsAfter("ev-a", 0);
      assert.deepEqual(
        events.map((e) => [e.sequence, e.type, e.payload]),
        [
          [1, "note", { n: 1 }],
          [2, "note", { n: 2 }],
          [3, "note", { n: 3 }],
        ],
      );
    });

    test("eventsAfter returns events strictly after the sequence, in order, at most limit", async (registry) => {
      await registry.register(registration("ev-c"));
      for (let i = 1; i <= 5; i++) await registry.appendEvent("ev-c", { type: "note", payload: i });
      const seqs = async (after: number, limit?: number) => (await registry.eventsAfter("ev-c", after, limit)).map((e) => e.sequence);
      assert.deepEqual(await seqs(2), [3, 4, 5]);
      assert.deepEqual(await seqs(2, 2), [3, 4]);
      assert.deepEqual(await seqs(0, 1), [1]);
      assert.deepEqual(await seqs(5), []);
      await rejectsWith(registry.eventsAfter("ev-c", 0, 0), "invalid_input", "limit");
      await rejectsWith(registry.eventsAfter("ev-c", 0, 1001), "invalid_input", "limit");
    });

    test("concurrent appends get distinct, consecutive sequences", async (registry) => {
      await registry.register(registration("ev-d"));
      const events = await Promise.all(Array.from({ length: 25 }, (_, i) => registry.appendEvent("ev-d", { type: "note", payload: i })));
      assert.deepEqual(
        events.map((e) => e.sequence).sort((a, b) => a - b),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      assert.equal((await registry.eventsAfter("ev-d", 0)).length, 25);
    });

    test("an undeclared type -> event_type_undeclared on event.type, nothing written", async (registry) => {
      await registry.register(registration("ev-e"));
      await rejectsWith(registry.appendEvent("ev-e", { type: "undeclared", payload: 1 }), "event_type_undeclared", "event.type");
      assert.deepEqual(await registry.eventsAfter("ev-e", 0), []);
    });

    test("runtime-only process.* events are refused; process.cancel_requested and signal.<name> need no declaration", async (registry) => {
      await registry.register(registration("ev-f"));
      for (const type of ["process.started", "process.completed", "process.failed", "process.cancelled", "process.abandoned"]) {
        await rejectsWith(registry.appendEvent("ev-f", { type, payload: {} }), "event_type_undeclared", "event.type");
      }
      const cancel = await registry.appendEvent("ev-f", { type: "process.cancel_requested", payload: { reason: "user" } });
      const signal = await registry.appendEvent("ev-f", { type: "signal.approve", payload: { ok: true } });
      assert.deepEqual([cancel.sequence, signal.sequence], [1, 2]);
      assert.equal((await registry.get("ev-f"))?.status, "pending");
    });

    test("a payload failing its JSON Schema -> event_payload_invalid pointing into the payload", async (registry) => {
      await registry.register(registration("ev-g"));
      await rejectsWith(registry.appendEvent("ev-g", { type: "progress", payload: { pct: 150 } }), "event_payload_invalid", "event.payload.pct");
      await rejectsWith(registry.appendEvent("ev-g", { type: "progress", payload: { pct: "half" } }), "event_payload_invalid", "event.payload.pct");
      await rejectsWith(registry.appendEvent("ev-g", { type: "progress", payload: "50%" }), "event_payload_invalid", "event.payload");
      assert.deepEqual(await registry.eventsAfter("ev-g", 0), []);
      assert.equal((await registry.appendEvent("ev-g", { type: "progress", payload: { pct: 50 } })).sequence, 1);
    });

    test("a payload over 64 KiB -> limit_exceeded on event.payload", async (registry) => {
      await registry.register(registration("ev-h"));
      await rejectsWith(registry.appendEvent("ev-h", { type: "note", payload: "x".repeat(64 * 1024) }), "limit_exceeded", "event.payload");
      assert.deepEqual(await registry.eventsAfter("ev-h", 0), []);
    });

    test("a malformed append -> invalid_input naming the field", async (registry) => {
      await registry.register(registration("ev-i"));
      await rejectsWith(registry.appendEvent("ev-i", { type: "", payload: 1 }), "invalid_input", "event.type");
      await rejectsWith(registry.appendEvent("ev-i", { type: "note", payload: 1, replayKey: "" }), "invalid_input", "event.replayKey");
      assert.deepEqual(await registry.eventsAfter("ev-i", 0), []);
    });

    test("the same replayKey and payload returns the original event, with no new sequence", async (registry) => {
      await registry.register(registration("ev-j"));
      const first = await registry.appendEvent("ev-j", { type: "note", payload: { a: 1, b: [1, 2] }, replayKey: "step-1" });
      await registry.appendEvent("ev-j", { type: "note", payload: "other" });
      const again = await registry.appendEvent("ev-j", { type: "note", payload: { b: [1, 2], a: 1 }, replayKey: "step-1" });
      assert.deepEqual(again, first);
      assert.equal(first.replayKey, "step-1");
      assert.deepEqual(
        (await registry.eventsAfter("ev-j", 0)).map((e) => e.sequence),
        [1, 2],
      );
    });

    test("a replayed append after the process ended still returns the original event", async (registry) => {
      await registry.register(registration("ev-replay-late"));
      const first = await registry.appendEvent("ev-replay-late", { type: "signal.go", payload: 1, replayKey: "sig-1" });
      await registry.complete("ev-replay-late", { type: "success", value: null });
      assert.deepEqual(await registry.appendEvent("ev-replay-late", { type: "signal.go", payload: 1, replayKey: "sig-1" }), first);
      await rejectsWith(registry.appendEvent("ev-replay-late", { type: "signal.go", payload: 2, replayKey: "sig-2" }), "process_terminal");
    });

    test("the same replayKey with another payload or type -> replay_conflict, nothing written", async (registry) => {
      await registry.register(registration("ev-k"));
      await registry.appendEvent("ev-k", { type: "note", payload: { a: 1 }, replayKey: "step-1" });
      await rejectsWith(registry.appendEvent("ev-k", { type: "note", payload: { a: 2 }, replayKey: "step-1" }), "replay_conflict", "event.replayKey");
      await rejectsWith(registry.appendEvent("ev-k", { type: "signal.x", payload: { a: 1 }, replayKey: "step-1" }), "replay_conflict");
      assert.equal((await registry.eventsAfter("ev-k", 0)).length, 1);
    });

    test("no event may follow the terminal one -> process_terminal", async (registry) => {
      await registry.register(registration("ev-l"));
      await registry.appendEvent("ev-l", { type: "note", payload: 1 });
      await registry.complete("ev-l", { type: "success", value: "done" });
      await rejectsWith(registry.appendEvent("ev-l", { type: "note", payload: 2 }), "process_terminal");
      await rejectsWith(registry.appendEvent("ev-l", { type: "signal.late", payload: null }), "process_terminal");
      assert.deepEqual(
        (await registry.eventsAfter("ev-l", 0)).map((e) => e.type),
        ["note", "process.completed"],
      );
    });

    test("every per-process call on an unknown id -> not_found on id", async (registry) => {
      const calls: [string, () => Promise<unknown>][] = [
        ["appendEvent", () => registry.appendEvent("nope", { type: "signal.x", payload: null })],
        ["eventsAfter", () => registry.eventsAfter("nope", 0)],
        ["countEvents", () => registry.countEvents("nope", "signal.x", 10)],
        ["markStarted", () => registry.markStarted("nope", "inv-1")],
        ["setStatus", () => registry.setStatus("nope", "running")],
        ["recordRetry", () => registry.recordRetry("nope")],
        ["complete", () => registry.complete("nope", { type: "success", value: null })],
        ["waitEventAfter", () => registry.waitEventAfter("nope", undefined, 0, 10)],
      ];
      for (const [name, call] of calls) {
        const err = await rejectsWith(call(), "not_found", "id");
        assert.match(err.message, /"nope"/, name);
      }
      assert.deepEqual((await registry.list()).items, []);
    });

    test("countEvents counts one type up to and including a sequence (a signal's ordinal)", async (registry) => {
      await registry.register(registration("ev-m"));
      const types = ["signal.go", "note", "signal.go", "signal.stop", "signal.go"];
      for (const type of types) await registry.appendEvent("ev-m", { type, payload: null });
      assert.equal(await registry.countEvents("ev-m", "signal.go", 5), 3);
      assert.equal(await registry.countEvents("ev-m", "signal.go", 3), 2);
      assert.equal(await registry.countEvents("ev-m", "signal.go", 2), 1);
      assert.equal(await registry.countEvents("ev-m", "signal.stop", 3), 0);
      assert.equal(await registry.countEvents("ev-m", "signal.none", 99), 0);
    });
  });
}
