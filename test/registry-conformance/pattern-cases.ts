import assert from "node:assert/strict";
import { describe } from "node:test";
import { Limits } from "../../src/model/index.ts";
import { registration, rejectsWith, type Case } from "./fixtures.ts";

/** Polynomial backtracking: not refused at registration, ~8 s on 3,000 characters in V8. */
const SLOW = "^\\w*\\w*\\w*!$";
const LONG = "a".repeat(3000);

/** The largest gap between ticks of a 10 ms interval while `action` runs: how long the event loop was blocked. */
async function loopBlockedMs<T>(action: () => Promise<T>): Promise<{ settled: PromiseSettledResult<T>; blockedMs: number; ms: number }> {
  let last = performance.now();
  let blockedMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    blockedMs = Math.max(blockedMs, now - last);
    last = now;
  }, 10);
  const start = performance.now();
  try {
    const [settled] = await Promise.allSettled([action()]);
    blockedMs = Math.max(blockedMs, performance.now() - last);
    return { settled: settled, blockedMs, ms: performance.now() - start };
  } finally {
    clearInterval(ticker);
  }
}

export function patternCases(test: Case): void {
  describe("payload schemas with regular expressions (evaluated off the event loop)", () => {
    test("a pattern that backtracks on the payload -> event_payload_invalid on event.payload at the time limit, loop never blocked, nothing written", async (registry) => {
      await registry.register(
        registration("re-slow", {
          eventTypes: [
            { name: "slow", payloadSchema: { type: "string", pattern: SLOW } },
            { name: "slow-prop", payloadSchema: { type: "object", properties: { text: { type: "string", pattern: SLOW } } } },
            { name: "slow-keys", payloadSchema: { type: "object", patternProperties: { [SLOW]: { type: "number" } } } },
            { name: "slow-url", payloadSchema: { type: "string", format: "url" } },
          ],
        }),
      );
      const cases: [string, unknown][] = [
        ["slow", LONG],
        ["slow-prop", { text: LONG }],
        ["slow-keys", { [LONG]: 1 }],
        ["slow-url", `http://${"a".repeat(40)}!`], // exponential in the validator's own url expression
      ];
      for (const [type, payload] of cases) {
        const { settled, blockedMs, ms } = await loopBlockedMs(() =>
          rejectsWith(registry.appendEvent("re-slow", { type, payload }), "event_payload_invalid", "event.payload"),
        );
        assert.equal(settled.status, "fulfilled", settled.status === "rejected" ? String(settled.reason) : "");
        assert.match(
          (settled as PromiseFulfilledResult<Error>).value.message,
          new RegExp(`"${type}" took longer than ${Limits.schemaCheckTimeMs} ms.*simplify`),
        );
        assert.ok(ms < Limits.schemaCheckTimeMs + 4000, `${type}: answered in ${Math.round(ms)} ms`);
        assert.ok(blockedMs < 200, `${type}: the event loop was blocked for ${Math.round(blockedMs)} ms`);
      }
      assert.deepEqual(await registry.eventsAfter("re-slow", 0), []);
    });

    test("a patterned schema still appends a matching payload, names the field of a mismatching one, and answers replays", async (registry) => {
      const code = { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}-[0-9]+$" } }, required: ["code"] };
      const keys = { type: "object", patternProperties: { "^n-": { type: "number" } } };
      await registry.register(
        registration("re-ok", {
          eventTypes: [
            { name: "code", payloadSchema: code },
            { name: "keys", payloadSchema: keys },
          ],
        }),
      );
      const first = await registry.appendEvent("re-ok", { type: "code", payload: { code: "ABC-12" }, replayKey: "k1" });
      assert.equal(first.sequence, 1);
      await rejectsWith(registry.appendEvent("re-ok", { type: "code", payload: { code: "abc" } }), "event_payload_invalid", "event.payload.code");
      await rejectsWith(registry.appendEvent("re-ok", { type: "keys", payload: { "n-1": "one" } }), "event_payload_invalid", "event.payload.n-1");
      assert.equal((await registry.appendEvent("re-ok", { type: "keys", payload: { "n-1": 1, other: "x" } })).sequence, 2);
      assert.deepEqual(await registry.appendEvent("re-ok", { type: "code", payload: { code: "ABC-12" }, replayKey: "k1" }), first);
      await rejectsWith(registry.appendEvent("re-ok", { type: "code", payload: { code: "XYZ-1" }, replayKey: "k1" }), "replay_conflict");
      // Earlier rules answer first, as for any schema: an undeclared type, an unknown id.
      await rejectsWith(registry.appendEvent("re-ok", { type: "undeclared", payload: 1 }), "event_type_undeclared", "event.type");
      await rejectsWith(registry.appendEvent("re-missing", { type: "code", payload: { code: "ABC-1" } }), "not_found", "id");
      assert.equal((await registry.eventsAfter("re-ok", 0)).length, 2);
    });

    test("concurrent checks each get their own answer; one timing out loses none of the others", async (registry) => {
      const schema = { type: "object", properties: { text: { type: "string", pattern: SLOW }, n: { type: "integer" } } };
      await registry.register(registration("re-many", { eventTypes: [{ name: "e", payloadSchema: schema }] }));
      const append = (payload: unknown) => registry.appendEvent("re-many", { type: "e", payload });
      const { settled, blockedMs } = await loopBlockedMs(() =>
        Promise.allSettled([
          append({ text: "quick!" }),
          append({ text: LONG }), // times out
          ...Array.from({ length: 8 }, (_, i) => append({ text: `w${i}!`, n: i })),
          append({ text: LONG, n: 1 }), // times out too, after the others queued behind the first
          append({ text: "no bang" }),
          append({ n: 1.5 }),
        ]),
      );
      assert.ok(blockedMs < 200, `the event loop was blocked for ${Math.round(blockedMs)} ms`);
      assert.equal(settled.status, "fulfilled");
      const results = (settled as PromiseFulfilledResult<PromiseSettledResult<unknown>[]>).value;
      const outcome = (r: PromiseSettledResult<unknown>) =>
        r.status === "fulfilled" ? "appended" : `${(r.reason as { code: string }).code}:${(r.reason as { field: string }).field}`;
      assert.deepEqual(results.map(outcome), [
        "appended",
        "event_payload_invalid:event.payload",
        ...Array.from({ length: 8 }, () => "appended"),
        "event_payload_invalid:event.payload",
        "event_payload_invalid:event.payload.text",
        "event_payload_invalid:event.payload.n",
      ]);
      const stored = await registry.eventsAfter("re-many", 0);
      assert.equal(stored.length, 9);
      assert.deepEqual(
        stored.map((e) => e.sequence).sort((a, b) => a - b),
        Array.from({ length: 9 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        stored
          .map((e) => (e.payload as { n?: number }).n)
          .filter((n) => n !== undefined)
          .sort(),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
    });
  });
}
