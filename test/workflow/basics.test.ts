import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { ProcessAwaitOutput } from "../../src/model/index.ts";
import type { StartResult } from "../../src/model/wire.ts";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";
import { journalOf } from "../support/restate-server.ts";

describe("LashProcessWorkflow basics", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ enableTestTools: true });
  });
  after(async () => s?.close());

  it("runs std.echo started through LashProcesses.start and records events in order", async () => {
    const reg = registration("echo-1", tool("std.echo", { value: { hello: "world" } }));
    const started = await s.post<StartResult>("/LashProcesses/start", { registration: reg });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.id, "echo-1");
    assert.match(started.body.invocationId ?? "", /^inv_/);
    const out = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/echo-1/awaitTerminal");
    assert.deepEqual(out.body, { type: "success", value: { hello: "world" } });
    const record = await s.registry.get("echo-1");
    assert.equal(record?.status, "completed");
    const events = await s.registry.eventsAfter("echo-1", 0);
    assert.deepEqual(
      events.map((e) => e.type),
      ["process.started", "process.completed"],
    );
    assert.deepEqual(
      events.map((e) => e.sequence),
      [1, 2],
    );
    // `start` journals the input, the one-way call to `run` (and its invocation id) and the
    // output: the registration is a registry write, not a step (processes-service.ts).
    const journal = await journalOf(s.admin, { service: "LashProcesses", handler: "start" });
    assert.deepEqual(
      journal.map((e) => e.entry_type),
      ["Command: Input", "Command: OneWayCall", "Notification: CallInvocationId", "Command: Output"],
    );
  });

  it("runs through a request-response call to run and never runs the body twice for the same key", async () => {
    const file = join(s.dir, "steps-once.txt");
    const reg = registration("steps-once", tool("std.steps", { count: 3, file }));
    const first = await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/steps-once/run", { registration: reg });
    assert.deepEqual(first.body, { type: "success", value: { steps: 3 } });
    const again = await s.post("/LashProcessWorkflow/steps-once/run/send", { registration: reg });
    assert.equal(again.status, 202);
    const restart = await s.post<StartResult>("/LashProcesses/start", { registration: reg });
    assert.equal(restart.status, 200);
    assert.equal(restart.body.status, "completed");
    await delay(300);
    assert.equal(await readFile(file, "utf8"), "steps-once 0\nsteps-once 1\nsteps-once 2\n");
  });
});
