/**
 * The testing kit (`lash-processes/testing`) as a host uses it: its own plugin,
 * a typed client, an endpoint killed and restarted mid-run (replay: a finished
 * step does not run again), and a teardown that leaves no process behind.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { definePlugin, defineProgram, defineTool } from "../src/index.ts";
import { createTestEnvironment, waitFor, type TestEnvironment } from "../src/testing/index.ts";
import { pidGone } from "./support/child.ts";

let stepRuns = 0;
const add = defineTool({
  name: "kit.add",
  args: z.object({ a: z.number(), b: z.number() }),
  run: async (ctx) => ({ sum: ctx.args.a + ctx.args.b }),
});
const approve = defineProgram({
  name: "kit.approve",
  args: z.object({ who: z.string() }),
  run: async (ctx) => {
    const before = await ctx.step("before", () => ++stepRuns);
    const got = await ctx.waitFor<{ ok: boolean }>("go", { timeoutMs: 120_000 });
    return { who: ctx.args.who, ok: !got.timedOut && got.payload.ok, before };
  },
});

describe("lash-processes/testing", () => {
  let env: TestEnvironment;
  before(async () => {
    env = await createTestEnvironment({ plugins: [definePlugin({ name: "kit", tools: [add], programs: [approve] })] });
  });
  after(async () => {
    await env?.teardown();
  });

  it("runs the host's typed tool through the typed client", async () => {
    const handle = await env.client.start(add, { a: 2, b: 40 });
    const outcome = await handle.result({ signal: AbortSignal.timeout(60_000) });
    assert.equal(outcome.type, "success");
    if (outcome.type === "success") assert.equal(outcome.value.sum, 42);
    assert.match(handle.id, /^[0-9a-f-]{36}$/, "a fresh UUID when no id is given");
  });

  it("resumes a run after the endpoint is killed and restarted, without repeating a finished step", async () => {
    const handle = await env.client.start(approve, { who: "ada" }, { id: "kit-approve-1", sessionId: "kit" });
    await waitFor(() => stepRuns === 1, { timeoutMs: 30_000, what: "the first step to run" });
    await env.killEndpoint();
    await env.restartEndpoint();
    await handle.signal("go", { ok: true });
    const outcome = await handle.result({ signal: AbortSignal.timeout(60_000) });
    assert.deepEqual(outcome, { type: "success", value: { who: "ada", ok: true, before: 1 } });
    assert.equal(stepRuns, 1, "the finished step was replayed from the journal, not run again");
    assert.equal((await env.registry.get("kit-approve-1"))?.provenance.ownerScope.sessionId, "kit");
  });

  it("refuses wrong arguments at the server, naming the field", async () => {
    // Bypass the compile-time check on purpose: the server validates too.
    await assert.rejects(env.client.start(add, { a: 1, b: "x" } as unknown as { a: number; b: number }), (err: Error & { field?: string }) => {
      assert.equal(err.field, "registration.input.call.args.b");
      return true;
    });
  });

  it("stops everything on teardown", async () => {
    const pids = env.pids();
    assert.ok(pids.length >= 1);
    await env.teardown();
    await waitFor(() => pids.every(pidGone), { timeoutMs: 30_000, what: "restate-server to exit" });
    await assert.rejects(fetch(`${env.ingressUrl}/restate/health`));
  });
});
