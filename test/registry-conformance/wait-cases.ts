import assert from "node:assert/strict";
import { describe } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { registration, timed, type Case } from "./fixtures.ts";

/** Long enough that resolving "at the timeout" is clearly told apart from resolving on an event. */
const LONG_WAIT_MS = 10_000;

export function waitCases(test: Case): void {
  describe("waitEventAfter", () => {
    test("an append right after the wait starts is not missed", async (registry) => {
      await registry.register(registration("w-race"));
      const wait = registry.waitEventAfter("w-race", "note", 0, LONG_WAIT_MS);
      const appended = registry.appendEvent("w-race", { type: "note", payload: "now" });
      const { result } = await timed(() => wait);
      assert.equal(result?.sequence, (await appended).sequence);
    });

    test("resolves at once for an event that already exists", async (registry) => {
      await registry.register(registration("w-a"));
      const appended = await registry.appendEvent("w-a", { type: "note", payload: "here" });
      const { result, ms } = await timed(() => registry.waitEventAfter("w-a", undefined, 0, LONG_WAIT_MS));
      assert.deepEqual(result, appended);
      assert.ok(ms < LONG_WAIT_MS / 2, `took ${ms} ms`);
    });

    test("resolves when a matching event is appended after the wait started", async (registry) => {
      await registry.register(registration("w-b"));
      const appendLater = delay(50).then(() => registry.appendEvent("w-b", { type: "note", payload: "later" }));
      const { result, ms } = await timed(() => registry.waitEventAfter("w-b", "note", 0, LONG_WAIT_MS));
      const appended = await appendLater;
      assert.deepEqual(result, appended);
      assert.ok(ms >= 40 && ms < LONG_WAIT_MS / 2, `took ${ms} ms`);
    });

    test("skips events of other types and events at or before `after`", async (registry) => {
      await registry.register(registration("w-c"));
      await registry.appendEvent("w-c", { type: "signal.go", payload: 1 }); // 1: at `after`
      await registry.appendEvent("w-c", { type: "note", payload: "noise" }); // 2: other type
      const wait = registry.waitEventAfter("w-c", "signal.go", 1, LONG_WAIT_MS);
      await delay(50);
      await registry.appendEvent("w-c", { type: "progress", payload: { pct: 1 } }); // 3: other type
      await registry.appendEvent("w-c", { type: "signal.go", payload: 2 }); // 4: the one
      const event = await wait;
      assert.deepEqual([event?.sequence, event?.type, event?.payload], [4, "signal.go", 2]);
      const anyType = await registry.waitEventAfter("w-c", undefined, 1, LONG_WAIT_MS);
      assert.equal(anyType?.sequence, 2);
    });

    test("returns undefined at its timeout and does not hang", async (registry) => {
      await registry.register(registration("w-d"));
      await registry.appendEvent("w-d", { type: "note", payload: 1 });
      const { result, ms } = await timed(() => registry.waitEventAfter("w-d", "note", 1, 150));
      assert.equal(result, undefined);
      assert.ok(ms >= 140 && ms < 150 + 1000, `took ${ms} ms`);
      assert.equal(await registry.waitEventAfter("w-d", "signal.none", 0, 0), undefined);
    });

    test("is woken by the terminal event that complete writes", async (registry) => {
      await registry.register(registration("w-e"));
      const wait = registry.waitEventAfter("w-e", "process.failed", 0, LONG_WAIT_MS);
      await delay(30);
      const { event } = await registry.complete("w-e", { type: "failure", class: "io", code: "disk", message: "full" });
      assert.deepEqual(await wait, event);
    });
  });
}
