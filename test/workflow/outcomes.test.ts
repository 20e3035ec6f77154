import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { ProcessAwaitOutput } from "../../src/model/index.ts";
import { waitFor } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type ErrorBody, type LashStack } from "../support/lash-stack.ts";
import { sideEffects, testPlugin } from "../support/test-plugin.ts";

const program = (name: string, args: unknown) => ({ type: "program", name, args });

describe("outcomes, external processes and wake delivery", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ plugins: [testPlugin], wakeTarget: { service: "TestWakeInbox", handler: "wake" } });
  });
  after(async () => s?.close());

  const run = async (id: string, input: unknown, extra: Record<string, unknown> = {}) =>
    (await s.post<ProcessAwaitOutput>(`/LashProcessWorkflow/${id}/run`, { registration: registration(id, input, extra) })).body;

  it("std.fail ends as the failure it describes", async () => {
    const out = await run("fail-1", tool("std.fail", { class: "permission_denied", code: "nope", message: "not allowed" }));
    assert.deepEqual(out, { type: "failure", class: "permission_denied", code: "nope", message: "not allowed" });
    assert.equal((await s.registry.get("fail-1"))?.status, "failed");
  });

  it("a ProcessFailure thrown inside a step is not retried", async () => {
    const out = await run("fail-step", program("test.fail_in_step", {}));
    assert.deepEqual(out, { type: "failure", class: "invalid_request", code: "bad_thing", message: "the thing was bad" });
  });

  it("a step that keeps throwing is retried, then ends the process with step_failed", async () => {
    const out = await run("flaky-dead", program("test.flaky_step", { key: "dead", failTimes: 100, maxAttempts: 3 }));
    assert.equal(out.type, "failure");
    assert.equal(out.code, "step_failed");
    assert.equal(sideEffects.get("dead"), 3);
  });

  it("a step that fails twice then succeeds completes", async () => {
    const out = await run("flaky-ok", program("test.flaky_step", { key: "ok", failTimes: 2, maxAttempts: 5 }));
    assert.deepEqual(out, { type: "success", value: "ok" });
    assert.equal(sideEffects.get("ok"), 3);
  });

  it("session_turn without a runner fails as unavailable", async () => {
    const out = await run("turn-1", { type: "session_turn", session: "s1", turnInput: { text: "hi" } });
    assert.deepEqual(out, {
      type: "failure",
      class: "unavailable",
      code: "session_turn_runner_missing",
      message: "no session-turn runner is configured on this endpoint",
    });
  });

  it("std.shell is refused unless the endpoint enables it", async () => {
    const out = await run("shell-off", tool("std.shell", { command: "true" }));
    assert.equal(out.type, "failure");
    assert.equal(out.class, "permission_denied");
  });

  it("an external process waits until completed from outside; complete on other processes is a 409", async () => {
    const started = await s.post("/LashProcesses/start", { registration: registration("ext-1", { type: "external", metadata: { owner: "ci" } }) });
    assert.equal(started.status, 200);
    await waitFor(async () => (await s.registry.get("ext-1"))?.status === "waiting", { timeoutMs: 10_000, what: "external waiting" });
    const done = await s.post("/LashProcessWorkflow/ext-1/complete", { output: { type: "success", value: { built: true } } });
    assert.deepEqual(done.body, { accepted: true, alreadyTerminal: false });
    assert.deepEqual((await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/ext-1/awaitTerminal")).body, { type: "success", value: { built: true } });
    const again = await s.post("/LashProcessWorkflow/ext-1/complete", { output: { type: "success", value: { built: false } } });
    assert.deepEqual(again.body, { accepted: false, alreadyTerminal: true });
    assert.deepEqual((await s.registry.get("ext-1"))?.outcome, { type: "success", value: { built: true } });

    await run("not-ext", tool("std.echo", { value: 1 }));
    const refused = await s.post<ErrorBody>("/LashProcessWorkflow/not-ext/complete", { output: { type: "success", value: 2 } });
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /^not_external:/);
  });

  it("wakes the owner session once per terminal outcome and once per wake-semantic event", async () => {
    const eventTypes = [{ name: "progress", semantics: { wake: {} } }, { name: "quiet" }];
    const reg = registration(
      "wake-1",
      program("test.emit", {
        events: [
          { type: "progress", payload: 1 },
          { type: "quiet", payload: 2 },
          { type: "progress", payload: 3 },
        ],
      }),
      {
        eventTypes,
        provenance: { ownerScope: { sessionId: "inbox-a" }, hostProfileId: "" },
      },
    );
    const out = (await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/wake-1/run", { registration: reg })).body;
    assert.deepEqual(out, { type: "success", value: { sequences: [2, 3, 4] } });
    type Wake = { processId: string; event: { type: string; payload: unknown } };
    await waitFor(
      async () => {
        const got = (await s.post<Wake[]>("/TestWakeInbox/inbox-a/list")).body;
        return got.length >= 3 ? got : undefined;
      },
      { timeoutMs: 10_000, what: "3 wakes" },
    );
    await delay(300);
    const final = (await s.post<Wake[]>("/TestWakeInbox/inbox-a/list")).body;
    assert.deepEqual(
      final.map((w) => [w.processId, w.event.type, w.event.payload]).sort((a, b) => String(a[1]).localeCompare(String(b[1])) || Number(a[2]) - Number(b[2])),
      [
        ["wake-1", "process.completed", { type: "success", value: { sequences: [2, 3, 4] } }],
        ["wake-1", "progress", 1],
        ["wake-1", "progress", 3],
      ],
    );
  });

  it("emitting an undeclared event type fails the process with a clear message", async () => {
    const out = await run("emit-bad", program("test.emit", { events: [{ type: "nope", payload: 1 }] }));
    assert.equal(out.type, "failure");
    assert.match(out.message, /event type "nope" is not declared/);
  });

  it("an error thrown outside a step ends the process as body_error, not a retry loop", async () => {
    const out = await run("plain-throw", program("test.throw_plain", {}));
    assert.deepEqual(out, { type: "failure", class: "internal", code: "body_error", message: "boom outside any step" });
  });

  it("an outcome over 256 KiB and a step result over 1 MiB fail with resource_limit", async () => {
    const output = await run("big-output", program("test.big", { where: "output", bytes: 300 * 1024 }));
    assert.partialDeepStrictEqual(output, { type: "failure", class: "resource_limit", code: "output_too_large" });
    const step = await run("big-step", program("test.big", { where: "step", bytes: 2 * 1024 * 1024 }));
    assert.partialDeepStrictEqual(step, { type: "failure", class: "resource_limit", code: "step_result_too_large" });
  });

  it("a timed-out wait does not consume the signal: the next wait receives it", async () => {
    const reg = registration("late-signal", program("test.timeout_then_wait", {}), { eventTypes: [{ name: "first_wait_done" }] });
    assert.equal((await s.post("/LashProcesses/start", { registration: reg })).status, 200);
    await waitFor(async () => (await s.registry.eventsAfter("late-signal", 0)).some((e) => e.type === "first_wait_done"), {
      timeoutMs: 10_000,
      what: "first wait timed out",
    });
    await s.post("/LashProcessWorkflow/late-signal/signal", { name: "late", payload: "finally" });
    const out = (await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/late-signal/awaitTerminal")).body;
    assert.deepEqual(out, { type: "success", value: { first: { timedOut: true }, second: "finally" } });
  });
});
