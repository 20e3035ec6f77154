import assert from "node:assert/strict";
import { describe } from "node:test";
import { registration, type Case } from "./fixtures.ts";

const HOUR = 3600_000;
const request = (over: { reason?: string; replayKey?: string; expiresAtMs?: number } = {}) => ({
  replayKey: "cancel-inv-1",
  expiresAtMs: Date.now() + HOUR,
  ...over,
});

export function cancelCases(test: Case): void {
  describe("requestCancel / cancel-before-start / authoritative cancel", () => {
    test("a cancel of an unregistered id is kept for a start within its expiry: the run is not started", async (registry) => {
      assert.deepEqual(await registry.requestCancel("cx-early", request({ reason: "changed my mind" })), { state: "unregistered" });
      const started = await registry.register(registration("cx-early"), { startRun: "inv-1/1" });
      assert.deepEqual(started.cancelRequested, { reason: "changed my mind" });
      assert.equal(started.record.status, "pending", "not marked started");
      assert.deepEqual(await registry.eventsAfter("cx-early", 0), []);
    });

    test("a cancel racing the start of a new id is never lost: either the start sees it, or it lands on the live row", async (registry) => {
      // Both calls in flight at once, many times: on PostgreSQL they run on different pooled
      // connections, so a start that read the tombstone before the cancel committed it (and a
      // cancel that looked for the row before the start committed it) would show here.
      const ids = Array.from({ length: 40 }, (_, i) => `cx-race-${i}`);
      const outcomes = await Promise.all(
        ids.map(async (id, i) => {
          const cancel = () => registry.requestCancel(id, request({ replayKey: `c-${id}` }));
          const start = () => registry.register(registration(id), { startRun: `inv-${id}/1` });
          // Sent in both orders: the first one sent usually, not always, commits first.
          const [c, s] = i % 2 === 0 ? await Promise.all([cancel(), start()]) : (([s1, c1]) => [c1, s1] as const)(await Promise.all([start(), cancel()]));
          return { id, cancel: c.state, startSawCancel: s.cancelRequested !== undefined };
        }),
      );
      for (const o of outcomes) {
        if (o.cancel === "unregistered") assert.ok(o.startSawCancel, `${o.id}: the cancel was kept as a tombstone, so the start must see it`);
        else {
          assert.equal(o.cancel, "live", `${o.id}: the cancel found the row`);
          assert.equal(o.startSawCancel, false, `${o.id}: a start before the cancel is not opposed`);
          assert.equal(
            (await registry.eventsAfter(o.id, 0)).filter((e) => e.type === "process.cancel_requested").length,
            1,
            `${o.id}: the cancel is on the row`,
          );
        }
      }
    });

    test("an expired cancel for an unregistered id no longer applies, and is dropped", async (registry) => {
      await registry.requestCancel("cx-expired", request({ expiresAtMs: Date.now() - 1 }));
      assert.equal(await registry.dropExpiredCancelRequests(Date.now()), 1);
      await registry.requestCancel("cx-kept", request());
      assert.equal(await registry.dropExpiredCancelRequests(Date.now()), 0, "an unexpired request is kept");
      await registry.requestCancel("cx-expired", request({ expiresAtMs: Date.now() - 1 }));
      const started = await registry.register(registration("cx-expired"), { startRun: "inv-1/1" });
      assert.equal(started.cancelRequested, undefined);
      assert.equal(started.record.status, "running");
    });

    test("on a live row: ONE process.cancel_requested however many requests, and the run's key is reported", async (registry) => {
      await registry.register(registration("cx-live"), { startRun: "inv-run/1" });
      const first = await registry.requestCancel("cx-live", request({ reason: "first", replayKey: "c-1" }));
      const second = await registry.requestCancel("cx-live", request({ reason: "second", replayKey: "c-2" }));
      assert.deepEqual(first, { state: "live", runKey: "inv-run/1" });
      assert.deepEqual(second, { state: "live", runKey: "inv-run/1" });
      const requests = (await registry.eventsAfter("cx-live", 0)).filter((e) => e.type === "process.cancel_requested");
      assert.deepEqual(
        requests.map((e) => e.payload),
        [{ reason: "first" }],
      );
    });

    test("a standing cancel request wins over any outcome offered afterwards, with its reason", async (registry) => {
      await registry.register(registration("cx-wins"), { startRun: "inv-run/1" });
      await registry.requestCancel("cx-wins", request({ reason: "stop" }));
      const done = await registry.complete("cx-wins", { type: "success", value: 1 }, { replayKey: "inv-run/1" });
      assert.deepEqual(done.outcome, { type: "cancelled", message: "process cancelled: stop", reason: "stop" });
      assert.equal(done.record.status, "cancelled");
      assert.equal(done.event.type, "process.cancelled");
      assert.equal(done.event.replayKey, "inv-run/1");
    });

    test("outcomes offered together (one turn): each process ends once, a standing cancel still wins, a repeated offer is already applied", async (registry) => {
      // On PostgreSQL these are one group commit, the outcomes one batched statement.
      const ids = ["cx-together-a", "cx-together-b", "cx-together-c"];
      for (const id of ids) await registry.register(registration(id), { startRun: `inv-${id}/1` });
      await registry.requestCancel("cx-together-b", request({ reason: "stop" }));
      const offer = (id: string) => registry.complete(id, { type: "success", value: id }, { replayKey: `inv-${id}/1` });
      const [a, b, c1, c2] = await Promise.all([offer("cx-together-a"), offer("cx-together-b"), offer("cx-together-c"), offer("cx-together-c")]);
      assert.equal(a.disposition, "applied");
      assert.deepEqual([a.record.id, a.record.status, a.event.processId], ["cx-together-a", "completed", "cx-together-a"]);
      assert.deepEqual([c1.record.id, c2.record.id], ["cx-together-c", "cx-together-c"]);
      assert.deepEqual(b.outcome, { type: "cancelled", message: "process cancelled: stop", reason: "stop" });
      assert.deepEqual([c1.disposition, c2.disposition].sort(), ["already_applied", "applied"]);
      for (const id of ids) {
        const terminal = (await registry.eventsAfter(id, 0)).filter((e) => ["process.completed", "process.cancelled"].includes(e.type));
        assert.equal(terminal.length, 1, `${id}: exactly one terminal event`);
        assert.equal((await registry.get(id))?.status, id === "cx-together-b" ? "cancelled" : "completed");
      }
    });

    test("a row registered (not started) before the cancel: the later start sees the request", async (registry) => {
      await registry.register(registration("cx-registered"));
      assert.deepEqual(await registry.requestCancel("cx-registered", request()), { state: "live" });
      const started = await registry.register(registration("cx-registered"), { startRun: "inv-1/1" });
      assert.deepEqual(started.cancelRequested, {});
      assert.deepEqual(
        (await registry.eventsAfter("cx-registered", 0)).map((e) => e.type),
        ["process.cancel_requested"],
      );
    });

    test("a terminal row: nothing recorded", async (registry) => {
      await registry.register(registration("cx-done"));
      await registry.complete("cx-done", { type: "success", value: 1 });
      assert.deepEqual(await registry.requestCancel("cx-done", request()), { state: "terminal" });
      assert.deepEqual(
        (await registry.eventsAfter("cx-done", 0)).map((e) => e.type),
        ["process.completed"],
      );
    });

    test("timeoutMs is stored, part of the registration hash, and read back", async (registry) => {
      const { record } = await registry.register(registration("cx-deadline", { timeoutMs: 5000 }));
      assert.equal(record.timeoutMs, 5000);
      assert.equal((await registry.get("cx-deadline"))?.timeoutMs, 5000);
      const plain = await registry.register(registration("cx-plain"));
      assert.equal(plain.record.timeoutMs, undefined);
      assert.notEqual(plain.record.registrationHash.length, 0);
      await assert.rejects(registry.register(registration("cx-deadline", { timeoutMs: 6000 })), /registration_conflict|already registered/);
    });
  });
}
