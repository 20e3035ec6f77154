/**
 * The ONE session-store conformance suite: every adapter runs it with one line, like
 * the registry's. `open` returns a fresh, empty store per case.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SessionAppend } from "../src/model/session-entry.ts";
import type { SessionStore } from "../src/sessions/session-store.ts";

export type OpenSessionStore = () => Promise<{ store: SessionStore; cleanup: () => Promise<void> }>;

const user = (key: string, content: string, turnId = "t1"): SessionAppend => ({ turnId, attempt: 1, message: { role: "user", content }, replayKey: key });

export function sessionStoreConformance(name: string, open: OpenSessionStore): void {
  describe(`session store conformance: ${name}`, () => {
    // Like the registry's `Case`: registers a node:test case (the runner tracks its promise).
    const test = (title: string, body: (store: SessionStore) => Promise<void>): void => {
      void it(title, async () => {
        const { store, cleanup } = await open();
        try {
          await body(store);
        } finally {
          await cleanup();
        }
      });
    };

    test("appends get consecutive sequences per session and read back in order, with every field", async (store) => {
      const first = await store.append("s1", [user("k1", "hello"), user("k2", "again")]);
      assert.deepEqual(
        first.map((e) => e.sequence),
        [1, 2],
      );
      const assistant: SessionAppend = {
        turnId: "t1",
        attempt: 2,
        message: { role: "assistant", content: null, toolCalls: [{ id: "c1", name: "std.echo", arguments: '{"value":1}' }] },
        usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
        replayKey: "k3",
      };
      const tool: SessionAppend = {
        turnId: "t1",
        attempt: 2,
        message: { role: "tool", toolCallId: "c1", name: "std.echo", content: "1", processId: "p.0" },
        final: true,
        replayKey: "k4",
      };
      await store.append("s1", [assistant, tool]);
      await store.append("s2", [user("k1", "other session")]);
      const all = await store.read("s1");
      assert.deepEqual(
        all.map((e) => [e.sequence, e.message.role, e.replayKey]),
        [
          [1, "user", "k1"],
          [2, "user", "k2"],
          [3, "assistant", "k3"],
          [4, "tool", "k4"],
        ],
      );
      assert.deepEqual(all[2]!.message, assistant.message);
      assert.deepEqual(all[2]!.usage, assistant.usage);
      assert.equal(all[2]!.attempt, 2);
      assert.equal(all[2]!.final, false);
      assert.equal(all[3]!.final, true);
      assert.equal(all[3]!.sessionId, "s1");
      assert.equal(typeof all[3]!.occurredAtMs, "number");
      assert.deepEqual(
        (await store.read("s2")).map((e) => e.sequence),
        [1],
      );
      assert.deepEqual(await store.read("nobody"), []);
    });

    test("read pages with after and limit", async (store) => {
      await store.append(
        "s",
        Array.from({ length: 5 }, (_, i) => user(`k${i}`, `m${i}`)),
      );
      assert.deepEqual(
        (await store.read("s", { after: 1, limit: 2 })).map((e) => e.sequence),
        [2, 3],
      );
      assert.deepEqual(
        (await store.read("s", { after: 5 })).map((e) => e.sequence),
        [],
      );
      await assert.rejects(store.read("s", { limit: 0 }), (e: any) => e.code === "invalid_input" && e.field === "limit");
      await assert.rejects(store.read("s", { after: -1 }), (e: any) => e.code === "invalid_input" && e.field === "after");
    });

    test("the same replay key and content returns the stored entry and writes nothing", async (store) => {
      const [a] = await store.append("s", [user("k1", "hello")]);
      const again = await store.append("s", [user("k1", "hello"), user("k2", "next")]);
      assert.deepEqual(again[0], a);
      assert.equal(again[1]!.sequence, 2);
      assert.equal((await store.read("s")).length, 2);
    });

    test("the same replay key with other content is a replay_conflict and the batch writes nothing", async (store) => {
      await store.append("s", [user("k1", "hello")]);
      await assert.rejects(store.append("s", [user("k2", "new"), user("k1", "changed")]), (e: any) => e.code === "replay_conflict");
      assert.deepEqual(
        (await store.read("s")).map((e) => e.replayKey),
        ["k1"],
      );
    });

    test("bad input names the field and writes nothing", async (store) => {
      await assert.rejects(store.append("", [user("k1", "x")]), (e: any) => e.code === "invalid_input" && e.field === "sessionId");
      await assert.rejects(
        store.append("s", [{ turnId: "t", attempt: 1, message: { role: "robot", content: "x" } as never, replayKey: "k" }]),
        (e: any) => e.code === "invalid_input" && /^entries\.0\.message/.test(e.field),
      );
      await assert.rejects(store.append("s", []), (e: any) => e.code === "invalid_input");
      await assert.rejects(store.append("s", [user("k", "a"), user("k", "b")]), (e: any) => e.code === "invalid_input" && e.field === "entries.1.replayKey");
      assert.deepEqual(await store.read("s"), []);
    });

    test("concurrent appends to one session never share a sequence", async (store) => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.append("s", [user(`k${i}`, `m${i}`)])));
      const seqs = (await store.read("s")).map((e) => e.sequence);
      assert.deepEqual(
        seqs,
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });
  });
}
