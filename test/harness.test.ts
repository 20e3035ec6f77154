/**
 * Smoke test of the test harness itself: a real restate-server, an endpoint
 * (in-process or child process), calls over the ingress, introspection, and
 * crash/restart of both the server and the endpoint. Every pid is gone at the end.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import * as restate from "@restatedev/restate-sdk";
import { pidGone } from "./support/child.ts";
import { adminQuery, waitFor } from "./support/restate-server.ts";
import { startStack } from "./support/stack.ts";

/** How often each step closure ran, per key, across all attempts. */
const stepRuns = new Map<string, number>();
const countStep = (key: string, step: string) => stepRuns.set(`${key}/${step}`, (stepRuns.get(`${key}/${step}`) ?? 0) + 1);

const HarnessProbe = restate.workflow({
  name: "HarnessProbe",
  handlers: {
    run: async (ctx: restate.WorkflowContext, input: { delayMs?: number }) => {
      const a = await ctx.run("one", () => (countStep(ctx.key, "one"), 1));
      const b = await ctx.run("two", async () => {
        countStep(ctx.key, "two");
        await delay(input.delayMs ?? 0);
        return 2;
      });
      const c = await ctx.run("three", () => (countStep(ctx.key, "three"), 3));
      return { sum: a + b + c, key: ctx.key };
    },
  },
});

const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Polls the workflow's output endpoint until it is available (200), returning the JSON. */
async function workflowOutput(ingress: string, workflow: string, key: string, timeoutMs = 20_000): Promise<unknown> {
  return waitFor(
    async () => {
      const res = await fetch(`${ingress}/restate/workflow/${workflow}/${key}/output`);
      const text = await res.text();
      if (res.status === 200) return { value: JSON.parse(text) as unknown };
      if (res.status !== 470 && res.status !== 404) throw new Error(`output of ${workflow}/${key}: ${res.status} ${text}`);
      return undefined; // 470: exists but not completed yet
    },
    { timeoutMs, intervalMs: 100, what: `${workflow}/${key} output` },
  ).then((r) => r.value);
}

test("workflow runs against a real restate-server and shows up in sys_invocation", { timeout: 60_000 }, async () => {
  const stack = await startStack([HarnessProbe]);
  try {
    const res = await post(`${stack.ingress}/HarnessProbe/k1/run`, {});
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { sum: 6, key: "k1" });
    const invocationId = res.headers.get("x-restate-id");
    assert.match(invocationId ?? "", /^inv_/);

    const rows = await adminQuery<{ id: string; status: string }>(stack.admin, "SELECT id, status FROM sys_invocation");
    assert.deepEqual(rows, [{ id: invocationId, status: "completed" }]);
  } finally {
    await stack.close();
  }
  for (const pid of stack.pids()) assert.ok(pidGone(pid), `pid ${pid} still running`);
});

test("SIGKILL of restate-server mid-run: restart on the same base dir, the run finishes", { timeout: 60_000 }, async () => {
  const stack = await startStack([HarnessProbe]);
  try {
    const sent = await post(`${stack.ingress}/HarnessProbe/k2/run/send`, { delayMs: 1_500 });
    assert.equal(sent.status, 202, await sent.clone().text());
    await waitFor(() => stepRuns.get("k2/two") === 1, { timeoutMs: 10_000, intervalMs: 20, what: "step two of k2 to start" });

    const crashedPid = stack.restate.pid;
    await stack.restate.kill();
    assert.ok(pidGone(crashedPid), "restate-server survived SIGKILL");

    await stack.restate.restart();
    assert.notEqual(stack.restate.pid, crashedPid);
    assert.equal((await fetch(`${stack.admin}/health`)).status, 200);

    assert.deepEqual(await workflowOutput(stack.ingress, "HarnessProbe", "k2"), { sum: 6, key: "k2" });
    assert.equal(stepRuns.get("k2/one"), 1, "a finished step ran again after the crash");
    assert.equal(stepRuns.get("k2/three"), 1);
  } finally {
    await stack.close();
  }
  assert.equal(stack.restate.pids.length, 2);
  for (const pid of stack.pids()) assert.ok(pidGone(pid), `pid ${pid} still running`);
});

test("SIGKILL of a child-process endpoint mid-run: restart it, the run finishes", { timeout: 60_000 }, async () => {
  const stack = await startStack({ entry: "test/support/fixtures/slow-steps-endpoint.ts" });
  try {
    const sent = await post(`${stack.ingress}/SlowSteps/c1/run/send`, { delayMs: 1_500 });
    assert.equal(sent.status, 202, await sent.clone().text());
    await waitFor(
      async () =>
        (await adminQuery<{ status: string }>(stack.admin, "SELECT status FROM sys_invocation WHERE target_service_key = 'c1'"))[0]?.status === "running",
      { what: "SlowSteps/c1 to be running" },
    );

    const crashedPid = stack.endpoint.pid;
    await stack.endpoint.kill();
    assert.ok(pidGone(crashedPid), "endpoint survived SIGKILL");
    await stack.endpoint.restart();

    const output = (await workflowOutput(stack.ingress, "SlowSteps", "c1")) as { sum: number; pid: number };
    assert.equal(output.sum, 6);
    assert.equal(output.pid, stack.endpoint.pid, "the restarted endpoint finished the run");
  } finally {
    await stack.close();
  }
  assert.equal(stack.endpoint.pids.length, 2);
  for (const pid of stack.pids()) assert.ok(pidGone(pid), `pid ${pid} still running`);
});
