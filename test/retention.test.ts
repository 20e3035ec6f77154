/**
 * Retention: `lashctl prune --older-than AGE [--dry-run]` through LashProcessRecovery/<name>/prune,
 * and the scheduled sweep's `retainForMs`. A pruned id is unknown afterwards and can be started again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { readEnvConfig } from "../src/config.ts";
import { waitFor } from "./support/restate-server.ts";
import { registration, startLashStack, tool, type LashStack } from "./support/lash-stack.ts";
import { lashctl as run } from "./cli-runner.ts";

describe("retention (prune)", { timeout: 180_000 }, () => {
  let s: LashStack;
  let env: Record<string, string>;
  const lashctl = (...args: string[]) => run(args, { env });
  before(async () => {
    s = await startLashStack({});
    env = { RESTATE_INGRESS_URL: s.ingress, RESTATE_ADMIN_URL: s.admin };
  });
  after(async () => s?.close());

  const start = async (id: string, input: unknown) => {
    const res = await s.post("/LashProcesses/start", { registration: registration(id, input) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const result = async (id: string) => (await s.post(`/LashProcessWorkflow/${id}/awaitTerminal`)).body;

  it("lashctl prune --dry-run lists finished processes older than the age; prune deletes them and their events; live ones stay", async () => {
    for (const id of ["p-1", "p-2"]) {
      await start(id, tool("std.echo", { value: id }));
      assert.equal((await result(id)).type, "success");
    }
    await start("p-live", tool("std.wait_signal", { name: "go" }));
    await waitFor(async () => (await s.registry.get("p-live"))?.status === "waiting", { timeoutMs: 30_000, what: "p-live waiting" });
    await delay(1100);

    const dry = await lashctl("--json", "prune", "--older-than", "1s", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout);
    assert.equal(planned.dryRun, true);
    assert.deepEqual([...planned.ids].sort(), ["p-1", "p-2"]);
    assert.ok((await s.registry.get("p-1")) !== undefined, "a dry run deletes nothing");

    const done = await lashctl("prune", "--older-than", "1s");
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /pruned 2 finished process/);
    assert.equal((await s.post("/LashProcesses/get", { id: "p-1" })).status, 404);
    assert.equal((await s.post("/LashProcesses/events", { id: "p-2" })).status, 404);
    assert.equal((await s.registry.get("p-live"))?.status, "waiting");

    // The id is free again: a new registration under it runs (Restate's old run was purged with it).
    await start("p-1", tool("std.echo", { value: "second life" }));
    assert.deepEqual(await result("p-1"), { type: "success", value: "second life" });
    await s.post("/LashProcessWorkflow/p-live/signal", { name: "go" });
    assert.equal((await result("p-live")).type, "success");
  });

  it("lashctl prune refuses a missing or malformed age", async () => {
    const missing = await lashctl("prune");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--older-than is required/);
    const bad = await lashctl("prune", "--older-than", "thirty days");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--older-than must be a duration/);
    const negative = await s.post("/LashProcessRecovery/default/prune", { olderThanMs: -5 });
    assert.equal(negative.status, 400);
    assert.match(JSON.stringify(negative.body), /olderThanMs/);
  });

  it("a scheduled sweep with retainForMs prunes finished processes by itself", async () => {
    await start("r-old", tool("std.echo", { value: 1 }));
    assert.equal((await result("r-old")).type, "success");
    const scheduled = await s.post("/LashProcessRecovery/default/schedule", { everyMs: 1000, retainForMs: 500 });
    assert.equal(scheduled.status, 200, JSON.stringify(scheduled.body));
    try {
      await waitFor(async () => (await s.registry.get("r-old")) === undefined, { timeoutMs: 30_000, what: "r-old pruned by the schedule" });
    } finally {
      await s.post("/LashProcessRecovery/default/unschedule", {});
    }
  });

  it("LASH_RETENTION takes a duration; a bad one fails naming the variable", () => {
    assert.equal(readEnvConfig({ LASH_RETENTION: "30d" }).LASH_RETENTION, 30 * 86_400_000);
    assert.equal(readEnvConfig({}).LASH_RETENTION, undefined, "default: keep everything");
    assert.throws(() => readEnvConfig({ LASH_RETENTION: "a month" }), /LASH_RETENTION: "a month" is not a duration/);
    assert.deepEqual(readEnvConfig({ LASH_MAX_CONCURRENT: "std.http=8, session=4" }).LASH_MAX_CONCURRENT, { byName: { "std.http": 8 }, session: 4 });
    assert.throws(() => readEnvConfig({ LASH_MAX_CONCURRENT: "std.http=0" }), /LASH_MAX_CONCURRENT: "std.http=0" is not/);
  });
});
