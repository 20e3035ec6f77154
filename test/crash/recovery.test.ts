import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Limits, jsonSize, type ProcessAwaitOutput } from "../../src/model/index.ts";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";
import { RestateAdmin } from "../../src/services/restate-admin.ts";
import { sweepPage } from "../../src/services/recovery-sweep.ts";
import { waitFor } from "../support/restate-server.ts";
import { assertStepsExactlyOnce, startCrashStack, stepInFlight, type CrashStack } from "../support/crash-stack.ts";

const stepsReg = (s: CrashStack, id: string, count: number, extra: Record<string, unknown> = {}) => ({
  id,
  input: { type: "tool_call" as const, call: { tool: "std.steps", args: { count, file: `${s.dir}/steps.txt`, stepMs: 0 } } },
  provenance: { ownerScope: { sessionId: "crash" }, hostProfileId: "" },
  ...extra,
});

describe("LashProcessRecovery", () => {
  let s: CrashStack;
  before(async () => {
    s = await startCrashStack({ LASH_RETRY_MAX_ATTEMPTS: "3" });
  });
  after(async () => s?.close());

  it("submits a row that was registered but never reached Restate, and it completes", async () => {
    await s.registry.register(stepsReg(s, "orphan", 3));
    const report = await s.sweep();
    assert.equal(report.submitted, 1);
    assert.deepEqual(report.failed, []);
    await s.waitTerminal(["orphan"]);
    assert.deepEqual(await s.lines("orphan"), ["orphan 0", "orphan 1", "orphan 2"]);
  });

  it("never submits external rows, and scans every non-terminal row once", async () => {
    await s.registry.register({ id: "ext-row", input: { type: "external", metadata: {} }, provenance: { ownerScope: { sessionId: "x" }, hostProfileId: "" } });
    const live = (await s.registry.listNonTerminal(1000)).items;
    const report = await s.sweep();
    assert.equal(report.scanned, live.length, `non-terminal rows: ${live.map((r) => r.id).join(", ")}`);
    assert.equal(report.skippedExternal, live.filter((r) => r.input.type === "external").length);
    assert.ok(report.skippedExternal >= 1);
    assert.equal(await s.runInvocation("ext-row"), undefined);
  });

  it("an operator kill: the sweep purges and resubmits (attempt 2) and it completes", async () => {
    await s.startSteps("killed", { count: 4, stepMs: 400 });
    await waitFor(async () => (await s.lines("killed")).length >= 1, { timeoutMs: 10_000, what: "first step" });
    const inv = await s.runInvocation("killed");
    assert.ok((await fetch(`${s.restate.adminUrl}/invocations/${inv!.id}/kill`, { method: "PATCH" })).ok);
    await waitFor(async () => (await s.runInvocation("killed"))?.status === "completed", { timeoutMs: 10_000, what: "killed" });
    const report = await s.sweep();
    assert.equal(report.submitted, 1);
    await s.waitTerminal(["killed"]);
    const record = await s.registry.get("killed");
    assert.equal(record?.status, "completed");
    assert.equal(record?.attempt, 2);
    const started = (await s.registry.eventsAfter("killed", 0)).filter((e) => e.type === "process.started");
    assert.deepEqual(
      started.map((e) => e.payload),
      [{ attempt: 1 }, { attempt: 2 }],
    );
  });

  it("an operator kill with maxAttempts 1: abandoned{engine_gave_up}, and awaiters are released", async () => {
    await s.startSteps("given-up", { count: 4, stepMs: 400 }, { maxAttempts: 1 });
    await waitFor(async () => (await s.lines("given-up")).length >= 1, { timeoutMs: 10_000, what: "first step" });
    const inv = await s.runInvocation("given-up");
    await fetch(`${s.restate.adminUrl}/invocations/${inv!.id}/kill`, { method: "PATCH" });
    await waitFor(async () => (await s.runInvocation("given-up"))?.status === "completed", { timeoutMs: 10_000, what: "killed" });
    const report = await s.sweep();
    assert.equal(report.reconciled, 1);
    const record = await s.registry.get("given-up");
    assert.equal(record?.status, "abandoned");
    assert.equal(record?.outcome?.type === "abandoned" && record.outcome.evidence.writer, "engine_gave_up");
    const awaited = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/given-up/awaitTerminal");
    assert.equal(awaited.body.type, "abandoned");
  });

  it("a paused invocation (endpoint down past the retry policy) is resumed and completes", async () => {
    await s.startSteps("paused", { count: 4, stepMs: 300 });
    await waitFor(async () => (await s.lines("paused")).length >= 1, { timeoutMs: 10_000, what: "first step" });
    await s.endpoint.kill();
    const inFlight = stepInFlight("paused", await s.lines("paused"));
    await waitFor(async () => (await s.runInvocation("paused"))?.status === "paused", { timeoutMs: 30_000, what: "paused" });
    await s.endpoint.restart();
    await delay(300);
    assert.equal((await s.runInvocation("paused"))?.status, "paused");
    const report = await s.sweep();
    assert.equal(report.resumed, 1);
    await s.waitTerminal(["paused"]);
    assert.equal((await s.registry.get("paused"))?.status, "completed");
    assert.equal((await s.registry.get("paused"))?.attempt, 2, "a resume counts an attempt");
    assert.deepEqual(assertStepsExactlyOnce("paused", await s.lines("paused"), 4, [inFlight]), []);
  });

  it("a paused invocation at maxAttempts is not resumed again: abandoned{engine_gave_up} and the invocation is killed", async () => {
    await s.startSteps("paused-out", { count: 4, stepMs: 300 }, { maxAttempts: 1 });
    await waitFor(async () => (await s.lines("paused-out")).length >= 1, { timeoutMs: 10_000, what: "first step" });
    await s.endpoint.kill();
    await waitFor(async () => (await s.runInvocation("paused-out"))?.status === "paused", { timeoutMs: 30_000, what: "paused" });
    await s.endpoint.restart();
    const report = await s.sweep();
    assert.equal(report.resumed, 0);
    assert.equal(report.reconciled, 1);
    const record = await s.registry.get("paused-out");
    assert.equal(record?.outcome?.type === "abandoned" && record.outcome.evidence.writer, "engine_gave_up");
    await waitFor(async () => (await s.runInvocation("paused-out"))?.status === "completed", { timeoutMs: 10_000, what: "killed" });
    const again = await s.sweep();
    assert.deepEqual([again.resumed, again.submitted], [0, 0]);
    assert.equal((await s.registry.get("paused-out"))?.status, "abandoned");
  });

  it("a finished run whose row was reset to running: the outcome is copied back, the body does not run again", async () => {
    await s.startSteps("lost-write", { count: 2 });
    await s.waitTerminal(["lost-write"]);
    const db = new DatabaseSync(s.dbPath);
    db.exec("PRAGMA busy_timeout = 5000");
    db.prepare("UPDATE lash_processes SET status = 'running', outcome = NULL WHERE id = ?").run("lost-write");
    db.prepare("DELETE FROM lash_events WHERE process_id = ? AND type = 'process.completed'").run("lost-write");
    db.close();
    assert.equal((await s.registry.get("lost-write"))?.status, "running");
    const report = await s.sweep();
    assert.equal(report.reconciled, 1);
    const record = await s.registry.get("lost-write");
    assert.equal(record?.status, "completed");
    assert.deepEqual(record?.outcome, { type: "success", value: { steps: 2 } });
    assert.deepEqual(await s.lines("lost-write"), ["lost-write 0", "lost-write 1"]);
  });

  it("two sweeps started together never submit a key twice; the reports add up", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `twin-${i}`);
    for (const id of ids) await s.registry.register(stepsReg(s, id, 1));
    const [a, b] = await Promise.all([s.sweep(), s.sweep()]);
    assert.equal(a.submitted + b.submitted, 30);
    await s.waitTerminal(ids);
    for (const id of ids) assert.deepEqual(await s.lines(id), [`${id} 0`]);
  });

  it("a row the sweep cannot handle is reported in failed[] and the rest of the page goes through", async () => {
    const db = SqliteRegistry.open(`${s.dir}/faults.db`);
    try {
      await db.register(stepsReg(s, "live-elsewhere", 1));
      await s.startSteps("live-elsewhere", { count: 1, stepMs: 10_000 });
      // A run Restate finished whose row (in this other registry) is still live: its outcome must be read from the ingress.
      await s.startSteps("done-elsewhere", { count: 1 });
      await s.waitTerminal(["done-elsewhere"]);
      await db.register(stepsReg(s, "done-elsewhere", 1));
      await db.register(stepsReg(s, "never-sent", 1));
      // The admin API answers, the ingress does not: reading the outcome fails, the other rows are still handled.
      const admin = new RestateAdmin({ adminUrl: s.restate.adminUrl, ingressUrl: "http://127.0.0.1:9" });
      const { report, starts } = await sweepPage(db, admin, 100, undefined);
      assert.equal(report.scanned, 3);
      assert.equal(report.alreadyActive, 1);
      assert.equal(report.submitted, 1);
      assert.deepEqual(
        starts.map((r) => r.id),
        ["never-sent"],
      );
      assert.deepEqual(
        report.failed.map((f) => f.id),
        ["done-elsewhere"],
      );
      assert.match(report.failed[0]!.error, /unreachable/);
    } finally {
      await db.close();
      await s.post("/LashProcessWorkflow/live-elsewhere/cancel", {});
    }
  });

  it("a page's runs to start stay within the page byte limit: the page is cut and the cursor continues after it", async () => {
    const db = SqliteRegistry.open(`${s.dir}/large.db`);
    try {
      const big = "x".repeat(Limits.inputMaxBytes - 1024);
      const ids = Array.from({ length: 24 }, (_, i) => `large-${String(i).padStart(2, "0")}`);
      for (const id of ids) await db.register({ ...stepsReg(s, id, 1), input: { type: "tool_call", call: { tool: "std.echo", args: { value: big } } } });
      const admin = new RestateAdmin({ adminUrl: s.restate.adminUrl, ingressUrl: s.restate.ingressUrl });
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await sweepPage(db, admin, 100, cursor);
        assert.ok(jsonSize(page.starts) <= Limits.pageMaxBytes, `page ${pages}: ${jsonSize(page.starts)} bytes of starts`);
        seen.push(...page.starts.map((r) => r.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      assert.ok(pages >= 2, `${pages} page(s)`);
      assert.deepEqual(seen, ids);
    } finally {
      await db.close();
    }
  });

  it("a page's copied outcomes stay bounded: once they pass the page byte limit no further row is taken, and the next page continues", async () => {
    // Runs Restate finished with large outputs whose rows (in this other registry) are still live: the sweep copies each outcome.
    // 60 rows: a page takes its first 32 at once and then one more per row finished, and stops once the outcomes it
    // copied pass 4 MiB (18 of these), so whatever the timing it takes at most 32 + 18 and cannot take them all.
    const ids = Array.from({ length: 60 }, (_, i) => `copied-${String(i).padStart(2, "0")}`);
    const value = "y".repeat(Limits.outcomeMaxBytes - 16 * 1024);
    for (const id of ids) {
      const res = await s.post("/LashProcesses/start", {
        registration: {
          id,
          input: { type: "tool_call", call: { tool: "std.echo", args: { value } } },
          provenance: { ownerScope: { sessionId: "crash" }, hostProfileId: "" },
        },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    await s.waitTerminal(ids);
    const db = SqliteRegistry.open(`${s.dir}/copied.db`);
    try {
      for (const id of ids) await db.register(stepsReg(s, id, 1));
      const admin = new RestateAdmin({ adminUrl: s.restate.adminUrl, ingressUrl: s.restate.ingressUrl });
      const scanned: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await sweepPage(db, admin, 100, cursor);
        const copied = jsonSize(page.terminals.map((t) => t.event));
        // The rows in flight when the limit is passed finish: at most 32 (the sweep's concurrency) outcomes beyond it.
        assert.ok(copied <= Limits.pageMaxBytes + 32 * Limits.outcomeMaxBytes, `page ${scanned.length}: ${copied} bytes of outcomes`);
        assert.equal(page.report.reconciled, page.report.scanned, JSON.stringify(page.report.failed));
        scanned.push(page.report.scanned);
        cursor = page.nextCursor;
      } while (cursor !== undefined && scanned.length < 10);
      assert.ok(scanned.length >= 2 && scanned[0]! < ids.length, `rows per page: ${scanned.join(", ")}`);
      assert.equal(
        scanned.reduce((a, b) => a + b, 0),
        ids.length,
      );
      for (const id of ids) assert.deepEqual((await db.get(id))?.outcome, { type: "success", value });
    } finally {
      await db.close();
    }
  });

  it("schedule re-arms a durable sweep; unschedule stops it", async () => {
    const scheduled = await s.post("/LashProcessRecovery/default/schedule", { everyMs: 1000 });
    assert.equal(scheduled.status, 200);
    await s.registry.register(stepsReg(s, "cron-found", 1));
    await s.waitTerminal(["cron-found"], 15_000);
    assert.equal((await s.post("/LashProcessRecovery/default/unschedule", {})).status, 200);
    await delay(1500);
    await s.registry.register(stepsReg(s, "after-unschedule", 1));
    await delay(2500);
    assert.equal((await s.registry.get("after-unschedule"))?.status, "pending");
    assert.equal(await s.runInvocation("after-unschedule"), undefined);
  });
});
