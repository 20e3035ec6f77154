import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { waitFor } from "../support/restate-server.ts";
import { assertStepsExactlyOnce, startCrashStack, stepInFlight, type CrashStack } from "../support/crash-stack.ts";

describe("crashes of the endpoint and of restate-server", () => {
  let s: CrashStack;
  before(async () => {
    s = await startCrashStack();
  });
  after(async () => s?.close());

  /** The lines of `id` once they have not changed for 2 s (a step takes 300 ms). */
  const stillLines = async (id: string) => {
    let last = await s.lines(id);
    return waitFor(
      async () => {
        await delay(2000);
        const now = await s.lines(id);
        const still = now.length === last.length;
        last = now;
        return still ? now : undefined;
      },
      { timeoutMs: 30_000, what: `the steps of ${id} to stop changing` },
    );
  };

  const terminalEvents = async (id: string) =>
    (await s.registry.eventsAfter(id, 0, 1000)).filter((e) => /^process\.(completed|failed|cancelled|abandoned)$/.test(e.type));

  it("SIGKILL of the endpoint mid-step: the process completes, finished steps are not repeated", async () => {
    await s.startSteps("kill-ep", { count: 6, stepMs: 300 });
    await waitFor(async () => (await s.lines("kill-ep")).length >= 2, { timeoutMs: 15_000, what: "two steps done" });
    await s.endpoint.kill();
    const inFlight = stepInFlight("kill-ep", await s.lines("kill-ep"));
    await delay(200);
    await s.endpoint.restart();
    await s.waitTerminal(["kill-ep"]);
    assert.equal((await s.registry.get("kill-ep"))?.status, "completed");
    assert.deepEqual(assertStepsExactlyOnce("kill-ep", await s.lines("kill-ep"), 6, [inFlight]), []);
    assert.equal((await terminalEvents("kill-ep")).length, 1);
  });

  it("SIGKILL of restate-server mid-run, restarted on the same data dir: completes", async () => {
    await s.startSteps("kill-rs", { count: 6, stepMs: 300 });
    await waitFor(async () => (await s.lines("kill-rs")).length >= 2, { timeoutMs: 15_000, what: "two steps done" });
    await s.restate.kill();
    // The endpoint lives on: the step closure running at the kill still writes its line, and
    // no later step can start without Restate. Once the file is still, its last line is that step.
    const inFlight = stepInFlight("kill-rs", await stillLines("kill-rs"));
    await s.restate.restart();
    await s.waitTerminal(["kill-rs"]);
    assert.equal((await s.registry.get("kill-rs"))?.status, "completed");
    assert.deepEqual(assertStepsExactlyOnce("kill-rs", await s.lines("kill-rs"), 6, [inFlight]), []);
  });

  it("200 processes of 5 steps while the endpoint is SIGKILLed 3 times: all terminal, one terminal event each", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `bulk-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < ids.length; i += 20) await Promise.all(ids.slice(i, i + 20).map((id) => s.startSteps(id, { count: 5, stepMs: 50 })));
    const inFlight = new Map<string, number[]>(ids.map((id) => [id, []]));
    for (let k = 0; k < 3; k++) {
      await delay(700);
      await s.endpoint.kill();
      for (const id of ids) inFlight.get(id)!.push(stepInFlight(id, await s.lines(id)));
      await s.endpoint.restart();
    }
    await s.waitTerminal(ids, 180_000);
    const problems: string[] = [];
    for (const id of ids) {
      const record = await s.registry.get(id);
      if (record?.status !== "completed") problems.push(`${id}: ${record?.status}`);
      const terminal = await terminalEvents(id);
      if (terminal.length !== 1) problems.push(`${id}: ${terminal.length} terminal events`);
      problems.push(...assertStepsExactlyOnce(id, await s.lines(id), 5, inFlight.get(id)!));
    }
    assert.deepEqual(problems, []);
  });
});

describe("the endpoint's start-up sweep", () => {
  let s: CrashStack;
  before(async () => {
    s = await startCrashStack({ LASH_RECOVER_ON_START: "1" });
  });
  after(async () => s?.close());

  it("drives a row written while the endpoint was down, without anyone calling sweep", async () => {
    await s.endpoint.kill();
    await s.registry.register({
      id: "written-while-down",
      input: { type: "tool_call", call: { tool: "std.echo", args: { value: "found" } } },
      provenance: { ownerScope: { sessionId: "crash" }, hostProfileId: "" },
    });
    await s.endpoint.restart();
    await s.waitTerminal(["written-while-down"], 30_000);
    assert.deepEqual((await s.registry.get("written-while-down"))?.outcome, { type: "success", value: "found" });
  });
});
