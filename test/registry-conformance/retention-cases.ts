import assert from "node:assert/strict";
import { describe } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { registration, rejectsWith, type Case } from "./fixtures.ts";

/** `prune`: retention of finished rows, with their events; live rows are never touched. */
export function retentionCases(test: Case): void {
  describe("prune", () => {
    test("deletes only terminal rows older than the age, oldest first, with their events; dryRun deletes nothing", async (registry) => {
      for (const id of ["old-1", "old-2", "young", "live", "queued"]) await registry.register(registration(id));
      await registry.markStarted("live", "inv-1");
      await registry.setStatus("queued", "queued");
      await registry.appendEvent("old-1", { type: "note", payload: "x" });
      await registry.complete("old-1", { type: "success", value: 1 });
      await registry.complete("old-2", { type: "failure", class: "execution", code: "x", message: "y" });
      await sleep(150);
      const { record: young } = await registry.complete("young", { type: "cancelled", message: "c" });
      const olderThanMs = Date.now() - (young.updatedAtMs - 75);

      const dry = await registry.prune({ olderThanMs, dryRun: true });
      assert.deepEqual([dry.pruned, [...dry.ids].sort(), dry.more], [2, ["old-1", "old-2"], false]);
      assert.ok((await registry.get("old-1")) !== undefined, "a dry run deletes nothing");

      const first = await registry.prune({ olderThanMs, limit: 1 });
      assert.deepEqual([first.pruned, first.more], [1, true]);
      const second = await registry.prune({ olderThanMs, limit: 1 });
      assert.deepEqual([second.pruned, second.more], [1, false]);
      assert.deepEqual([...first.ids, ...second.ids].sort(), ["old-1", "old-2"]);
      assert.equal((await registry.get("old-1")) === undefined && (await registry.get("old-2")) === undefined, true);
      await rejectsWith(registry.eventsAfter("old-1", 0), "not_found");
      assert.equal((await registry.get("young"))?.status, "cancelled", "younger than the age: kept");

      await sleep(5);
      const all = await registry.prune({ olderThanMs: 0 });
      assert.deepEqual(all.ids, ["young"]);
      assert.deepEqual([(await registry.get("live"))?.status, (await registry.get("queued"))?.status], ["running", "queued"], "live rows stay");
      assert.equal((await registry.list({})).items.length, 2);

      // A pruned id is free: registering it again makes a new row with a fresh event log.
      const again = await registry.register(registration("old-1"));
      assert.equal(again.created, true);
      assert.deepEqual(await registry.eventsAfter("old-1", 0), []);
    });

    test("many rows go in batches; bad options name the field", async (registry) => {
      const ids = Array.from({ length: 1203 }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
      for (const id of ids) {
        await registry.register(registration(id));
        await registry.complete(id, { type: "success", value: null });
      }
      await sleep(5);
      const dry = await registry.prune({ olderThanMs: 0, limit: 1100, dryRun: true });
      assert.deepEqual([dry.pruned, dry.more, new Set(dry.ids).size], [1100, true, 1100]);
      const done = await registry.prune({ olderThanMs: 0, limit: 100_000 });
      assert.deepEqual([done.pruned, done.more], [1203, false]);
      assert.equal((await registry.list({})).items.length, 0);
      await rejectsWith(registry.prune({ olderThanMs: -1 }), "invalid_input", "prune.olderThanMs");
    });
  });
}
