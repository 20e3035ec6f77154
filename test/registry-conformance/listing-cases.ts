import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { describe } from "node:test";
import type { ProcessRegistrationInput } from "../../src/model/index.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";
import { inSession, registration, rejectsWith, type Case } from "./fixtures.ts";

const id = (n: number): string => `ks-${String(n).padStart(3, "0")}`;

async function finish(registry: ProcessRegistry, processId: string): Promise<void> {
  await registry.complete(processId, { type: "success", value: null });
}

/** Follows `nextCursor` until the last page; returns every id seen, in order. */
async function collectIds(page: (cursor: string | undefined) => ReturnType<ProcessRegistry["list"]>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const result = await page(cursor);
    ids.push(...result.items.map((r) => r.id));
    if (result.nextCursor === undefined) return ids;
    cursor = result.nextCursor;
  }
  throw new Error("paging did not end");
}

export function listingCases(test: Case): void {
  describe("listNonTerminal / list", () => {
    test("listNonTerminal returns only non-terminal rows, in id order", async (registry) => {
      for (const n of [30, 10, 50, 20, 40]) await registry.register(registration(id(n)));
      await registry.markStarted(id(20), "inv");
      await registry.setStatus(id(20), "waiting");
      await finish(registry, id(30));
      await registry.complete(id(50), { type: "abandoned", evidence: { writer: "sweep", atMs: 1 } });
      const page = await registry.listNonTerminal(10);
      assert.deepEqual(
        page.items.map((r) => [r.id, r.status]),
        [
          [id(10), "pending"],
          [id(20), "waiting"],
          [id(40), "pending"],
        ],
      );
      assert.equal(page.nextCursor, undefined);
    });

    test("listNonTerminal pages by id: a full page carries nextCursor, the last page none", async (registry) => {
      for (let n = 1; n <= 5; n++) await registry.register(registration(id(n)));
      const first = await registry.listNonTerminal(2);
      assert.deepEqual([first.items.map((r) => r.id), first.nextCursor], [[id(1), id(2)], id(2)]);
      const second = await registry.listNonTerminal(2, first.nextCursor);
      assert.deepEqual(
        second.items.map((r) => r.id),
        [id(3), id(4)],
      );
      const last = await registry.listNonTerminal(2, second.nextCursor);
      assert.deepEqual([last.items.map((r) => r.id), last.nextCursor], [[id(5)], undefined]);
      assert.deepEqual((await registry.listNonTerminal(2, id(5))).items, []);
    });

    test("keyset paging: no duplicate and no gap while rows are inserted and terminalized between pages", async (registry) => {
      const initial = [10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90].map(id);
      for (const i of initial) await registry.register(registration(i));
      // Applied after page 1, 2, 3: inserts before and after the cursor, terminal rows before and after it.
      const between = [
        { insert: [5, 65], terminalize: [40, 10] },
        { insert: [27, 95], terminalize: [75] },
        { insert: [85, 1], terminalize: [20, 90] },
      ];
      const terminalized = new Set(between.flatMap((b) => b.terminalize.map(id)));
      let pageIndex = 0;
      const seen = await collectIds(async (cursor) => {
        const mutation = pageIndex > 0 ? between[pageIndex - 1] : undefined;
        for (const n of mutation?.insert ?? []) await registry.register(registration(id(n)));
        for (const n of mutation?.terminalize ?? []) await finish(registry, id(n));
        pageIndex += 1;
        return registry.listNonTerminal(3, cursor);
      });
      assert.equal(new Set(seen).size, seen.length, `duplicates in ${seen.join(",")}`);
      assert.deepEqual(seen, [...seen].sort(), "ids come in ascending order");
      const stable = initial.filter((i) => !terminalized.has(i));
      for (const i of stable) assert.equal(seen.filter((s) => s === i).length, 1, `${i} seen exactly once`);
      assert.ok(!seen.includes(id(40)) && !seen.includes(id(75)), "rows terminalized before their page are not listed");
      assert.ok(seen.includes(id(65)) && seen.includes(id(95)), "rows inserted after the cursor are listed");
      assert.ok(!seen.includes(id(5)) && !seen.includes(id(27)), "rows inserted before the cursor are not listed");
    });

    test("list filters by status and by sessionId, with paging", async (registry) => {
      for (const [pid, session] of [
        ["a-1", "A"],
        ["a-2", "A"],
        ["a-3", "A"],
        ["b-1", "B"],
        ["b-2", "B"],
        ["a-4", "A"],
      ] as const) {
        await registry.register(inSession(pid, session));
      }
      await registry.markStarted("a-2", "inv");
      await registry.markStarted("b-1", "inv");
      await finish(registry, "a-3");
      const ids = (items: { id: string }[]) => items.map((r) => r.id);
      const sessionA = await collectIds((cursor) => registry.list({ sessionId: "A", limit: 2, ...(cursor ? { cursor } : {}) }));
      assert.deepEqual(sessionA, ["a-1", "a-2", "a-3", "a-4"]);
      const firstPage = await registry.list({ sessionId: "A", limit: 2 });
      assert.deepEqual([ids(firstPage.items), firstPage.nextCursor], [["a-1", "a-2"], "a-2"]);
      assert.deepEqual(ids((await registry.list({ status: "running" })).items), ["a-2", "b-1"]);
      assert.deepEqual(ids((await registry.list({ status: "pending", sessionId: "B" })).items), ["b-2"]);
      const completed = await registry.list({ status: "completed" });
      assert.deepEqual([ids(completed.items), completed.items[0]?.outcome], [["a-3"], { type: "success", value: null }]);
      assert.deepEqual(await registry.list({ sessionId: "nobody" }), { items: [] });
      assert.deepEqual(ids((await registry.list()).items), ["a-1", "a-2", "a-3", "a-4", "b-1", "b-2"]);
      assert.deepEqual(ids((await registry.list({ cursor: "a-4" })).items), ["b-1", "b-2"]);
    });

    test("list newest first (keyset-paged by creation time, then id) and by parent, target and id text", async (registry) => {
      // Newest first orders by creation time (ms), then id: space the rows so each has its own millisecond.
      const later = () => delay(3);
      for (let n = 1; n <= 5; n++) {
        await registry.register(registration(`nf-${n}`));
        await later();
      }
      const causedBy = { kind: "process" as const, id: "nf-2" };
      const child = (cid: string, input: ProcessRegistrationInput["input"]) =>
        registration(cid, { input, provenance: { ownerScope: { sessionId: "session-a" }, hostProfileId: "host-1", causedBy } });
      await registry.register(child("nf-2.0", { type: "tool_call", call: { tool: "std.echo", args: {} } }));
      await later();
      await registry.register(child("nf-2.1", { type: "external", metadata: {} }));
      const newest = await collectIds((cursor) => registry.list({ order: "newest", limit: 2, ...(cursor ? { cursor } : {}) }));
      assert.deepEqual(newest, ["nf-2.1", "nf-2.0", "nf-5", "nf-4", "nf-3", "nf-2", "nf-1"]);
      const first = await registry.list({ order: "newest", limit: 2 });
      assert.match(first.nextCursor ?? "", /^\d+:nf-2\.0$/);
      const ids = (items: { id: string }[]) => items.map((r) => r.id);
      assert.deepEqual(ids((await registry.list({ parentId: "nf-2" })).items), ["nf-2.0", "nf-2.1"]);
      assert.deepEqual(ids((await registry.list({ parentId: "nf-3" })).items), []);
      assert.deepEqual(ids((await registry.list({ target: "std.echo" })).items), ["nf-2.0"]);
      assert.deepEqual(ids((await registry.list({ target: "external" })).items), ["nf-2.1"]);
      assert.equal((await registry.list({ target: "demo" })).items.length, 5);
      assert.deepEqual(ids((await registry.list({ idContains: "2.", order: "newest" })).items), ["nf-2.1", "nf-2.0"]);
      await rejectsWith(registry.list({ order: "newest", cursor: "nf-3" }), "invalid_input", "cursor");
    });

    test("page limits outside 1..1000 -> invalid_input on limit", async (registry) => {
      await registry.register(registration(id(1)));
      for (const limit of [0, -1, 1001, 1.5, Number.NaN]) {
        await rejectsWith(registry.listNonTerminal(limit), "invalid_input", "limit");
        await rejectsWith(registry.list({ limit }), "invalid_input", "limit");
      }
      assert.equal((await registry.listNonTerminal(1000)).items.length, 1);
      assert.equal((await registry.list({ limit: 1 })).items.length, 1);
    });

    test("returned records and events are copies: changing them changes nothing stored", async (registry) => {
      const { record } = await registry.register(registration("copy-1"));
      await registry.appendEvent("copy-1", { type: "note", payload: { keep: true } });
      record.status = "failed";
      record.eventTypes.pop();
      const [event] = await registry.eventsAfter("copy-1", 0);
      (event!.payload as { keep: boolean }).keep = false;
      const listed = (await registry.list()).items[0]!;
      listed.provenance.ownerScope.sessionId = "changed";
      const stored = await registry.get("copy-1");
      assert.deepEqual([stored?.status, stored?.eventTypes.length, stored?.provenance.ownerScope.sessionId], ["pending", 2, "session-a"]);
      assert.deepEqual((await registry.eventsAfter("copy-1", 0))[0]?.payload, { keep: true });
    });

    test("countSessionProcesses counts a session's live rows (finished ones do not count), up to the bound asked", async (registry) => {
      for (let n = 1; n <= 4; n++) await registry.register(inSession(`cnt-${n}`, "counted"));
      await registry.register(inSession("cnt-other", "elsewhere"));
      await finish(registry, "cnt-1");
      assert.equal(await registry.countSessionProcesses("counted", 100), 3);
      assert.equal(await registry.countSessionProcesses("counted", 2), 2);
      assert.equal(await registry.countSessionProcesses("nobody", 10), 0);
    });
  });
}
