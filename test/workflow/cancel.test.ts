import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { ProcessAwaitOutput } from "../../src/model/index.ts";
import { adminQuery, waitFor } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";
import { sideEffects, testPlugin } from "../support/test-plugin.ts";
import { pidGone } from "../support/child.ts";
import { childrenOf } from "../support/children.ts";

const program = (name: string, args: unknown) => ({ type: "program", name, args });

describe("cancellation", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ plugins: [testPlugin], enableShell: true, enableTestTools: true });
  });
  after(async () => s?.close());

  const start = async (reg: unknown) => {
    const res = await s.post("/LashProcesses/start", { registration: reg });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const statusOf = async (id: string) => (await s.registry.get(id))?.status;

  it("before start: the body never runs and the outcome is cancelled", async () => {
    const file = join(s.dir, "never.txt");
    await writeFile(file, "");
    const cancel = await s.post("/LashProcessWorkflow/pre-cancel/cancel", { reason: "changed my mind" });
    assert.deepEqual(cancel.body, { accepted: true, alreadyTerminal: false });
    const out = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/pre-cancel/run", {
      registration: registration("pre-cancel", tool("std.steps", { count: 2, file })),
    });
    assert.partialDeepStrictEqual(out.body, { type: "cancelled", reason: "changed my mind" });
    assert.equal(await readFile(file, "utf8"), "");
    const events = await s.registry.eventsAfter("pre-cancel", 0);
    assert.deepEqual(
      events.map((e) => e.type),
      ["process.cancelled"],
    );
  });

  it("while running: the outcome is cancelled with the reason, the AbortSignal fires, and it is prompt", async () => {
    await start(registration("running-cancel", program("test.abort_watch", { key: "rc" })));
    await waitFor(async () => (await statusOf("running-cancel")) === "running", { timeoutMs: 10_000, what: "running" });
    await delay(200);
    const cancel = await s.post("/LashProcessWorkflow/running-cancel/cancel", { reason: "user pressed stop" });
    assert.deepEqual(cancel.body, { accepted: true, alreadyTerminal: false });
    const out = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/running-cancel/awaitTerminal");
    assert.partialDeepStrictEqual(out.body, { type: "cancelled", reason: "user pressed stop" });
    assert.equal(sideEffects.get("rc:aborted"), 1);
    const types = (await s.registry.eventsAfter("running-cancel", 0)).map((e) => e.type);
    assert.deepEqual(types, ["process.started", "process.cancel_requested", "process.cancelled"]);
  });

  it("while waiting for a signal: cancelled, and the row is never left running", async () => {
    await start(registration("wait-cancel", tool("std.wait_signal", { name: "never" })));
    await waitFor(async () => (await statusOf("wait-cancel")) === "waiting", { timeoutMs: 10_000, what: "waiting" });
    await s.post("/LashProcessWorkflow/wait-cancel/cancel", {});
    const out = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/wait-cancel/awaitTerminal");
    assert.equal(out.body.type, "cancelled");
    assert.equal(await statusOf("wait-cancel"), "cancelled");
  });

  it("after terminal: a no-op that says so", async () => {
    await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/done-cancel/run", { registration: registration("done-cancel", tool("std.echo", { value: 1 })) });
    const cancel = await s.post("/LashProcessWorkflow/done-cancel/cancel", { reason: "late" });
    assert.deepEqual(cancel.body, { accepted: false, alreadyTerminal: true });
    const record = await s.registry.get("done-cancel");
    assert.equal(record?.status, "completed");
    const types = (await s.registry.eventsAfter("done-cancel", 0)).map((e) => e.type);
    assert.deepEqual(types, ["process.started", "process.completed"]);
  });

  it("cascades to the children the body started", async () => {
    await start(registration("parent-cancel", program("test.spawn_and_wait", { children: 3 })));
    const kids = await waitFor(
      async () => {
        const found = await childrenOf(s.registry, "parent-cancel");
        return found.length === 3 && found.every((r) => r.status === "waiting") ? found.map((r) => r.id) : undefined;
      },
      { timeoutMs: 15_000, what: "children waiting" },
    );
    await s.post("/LashProcessWorkflow/parent-cancel/cancel", { reason: "stop all" });
    assert.equal((await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/parent-cancel/awaitTerminal")).body.type, "cancelled");
    for (const kid of kids) {
      const out = await s.post<ProcessAwaitOutput>(`/LashProcessWorkflow/${kid}/awaitTerminal`);
      assert.partialDeepStrictEqual(out.body, { type: "cancelled", reason: "parent parent-cancel cancelled" }, kid);
    }
  });

  it("an operator's invocation cancel ends the process cancelled in the registry", async () => {
    await start(registration("operator-cancel", tool("std.wait_signal", { name: "never" })));
    await waitFor(async () => (await statusOf("operator-cancel")) === "waiting", { timeoutMs: 10_000, what: "waiting" });
    const [inv] = await adminQuery<{ id: string }>(
      s.admin,
      "SELECT id FROM sys_invocation WHERE target_service_key = 'operator-cancel' AND target_handler_name = 'run'",
    );
    const res = await fetch(`${s.admin}/invocations/${inv!.id}/cancel`, { method: "PATCH" });
    assert.ok(res.ok, `cancel answered ${res.status}`);
    const out = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/operator-cancel/awaitTerminal");
    assert.equal(out.body.type, "cancelled");
    assert.equal(await statusOf("operator-cancel"), "cancelled");
  });

  it("std.shell: the child process is killed on cancel", async () => {
    const pidFile = join(s.dir, "shell.pid");
    await start(registration("shell-cancel", tool("std.shell", { command: "sh", args: ["-c", `echo $$ > ${pidFile}; exec sleep 60`] })));
    const pid = await waitFor(async () => Number((await readFile(pidFile, "utf8").catch(() => "")).trim()) || undefined, {
      timeoutMs: 10_000,
      what: "pid file",
    });
    assert.equal(pidGone(pid), false);
    await s.post("/LashProcessWorkflow/shell-cancel/cancel", {});
    assert.equal((await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/shell-cancel/awaitTerminal")).body.type, "cancelled");
    await waitFor(async () => pidGone(pid), { timeoutMs: 5_000, what: "shell child gone" });
  });
});
