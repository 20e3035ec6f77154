/** Plugins used by the workflow tests: small programs exercising ProcessContext. */
import { z } from "zod";
import { definePlugin, defineProgram } from "../../src/runtime/plugin.ts";
import { ProcessFailure } from "../../src/runtime/process-failure.ts";

/** Counts side effects per key, observable from the test. */
export const sideEffects = new Map<string, number>();
const bump = (key: string) => sideEffects.set(key, (sideEffects.get(key) ?? 0) + 1);

/** Steps of `test.wait_block_wait` block until the test calls `releaseBlockedStep(key)`. */
const blocked = new Map<string, PromiseWithResolvers<void>>();
export const releaseBlockedStep = (key: string) => blockerOf(key).resolve();
function blockerOf(key: string): PromiseWithResolvers<void> {
  let blocker = blocked.get(key);
  if (blocker === undefined) {
    blocker = Promise.withResolvers<void>();
    blocked.set(key, blocker);
  }
  return blocker;
}

export const testPlugin = definePlugin({
  name: "test",
  programs: [
    defineProgram({
      name: "test.sleep_then_wait",
      args: z.object({ sleepMs: z.number(), name: z.string(), count: z.number() }),
      run: async (ctx) => {
        await ctx.sleep(ctx.args.sleepMs);
        const got = [];
        for (let i = 0; i < ctx.args.count; i++) {
          const r = await ctx.waitFor(ctx.args.name);
          if (r.timedOut) throw new Error("unexpected timeout");
          got.push(r.payload);
        }
        return { got };
      },
    }),
    defineProgram({
      name: "test.chain",
      args: z.object({ depth: z.number().int().min(0) }),
      run: async (ctx): Promise<unknown> => {
        if (ctx.args.depth === 0) return { leaf: ctx.processId };
        const child = await ctx.start({ input: { type: "program", name: "test.chain", args: { depth: ctx.args.depth - 1 } } });
        return { id: ctx.processId, child: await child.result() };
      },
    }),
    defineProgram({
      name: "test.flaky_step",
      args: z.object({ key: z.string(), failTimes: z.number().int(), maxAttempts: z.number().int() }),
      run: async (ctx) =>
        ctx.step(
          "flaky",
          () => {
            bump(ctx.args.key);
            if ((sideEffects.get(ctx.args.key) ?? 0) <= ctx.args.failTimes) throw new Error(`flake ${sideEffects.get(ctx.args.key)}`);
            return "ok";
          },
          { maxAttempts: ctx.args.maxAttempts, initialIntervalMs: 10, maxIntervalMs: 50 },
        ),
    }),
    defineProgram({
      name: "test.fail_in_step",
      args: z.object({}),
      run: async (ctx) =>
        ctx.step("deterministic failure", () => {
          throw new ProcessFailure("invalid_request", "bad_thing", "the thing was bad");
        }),
    }),
    defineProgram({
      name: "test.emit",
      args: z.object({ events: z.array(z.object({ type: z.string(), payload: z.json() })) }),
      run: async (ctx) => {
        const sequences = [];
        for (const e of ctx.args.events) sequences.push((await ctx.emit(e.type, e.payload)).sequence);
        return { sequences };
      },
    }),
    defineProgram({
      name: "test.abort_watch",
      args: z.object({ key: z.string() }),
      run: async (ctx) => {
        ctx.signal.addEventListener("abort", () => bump(`${ctx.args.key}:aborted`));
        await ctx.step("block until aborted", (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())));
        return "not reached";
      },
    }),
    defineProgram({
      name: "test.spawn_and_wait",
      args: z.object({ children: z.number().int() }),
      run: async (ctx) => {
        const handles = [];
        for (let i = 0; i < ctx.args.children; i++) {
          handles.push(await ctx.start({ input: { type: "tool_call", call: { tool: "std.wait_signal", args: { name: "go" } } } }));
        }
        for (const h of handles) await h.result();
        return "all done";
      },
    }),
    defineProgram({
      name: "test.throw_plain",
      args: z.object({}),
      run: async () => {
        throw new Error("boom outside any step");
      },
    }),
    defineProgram({
      name: "test.big",
      args: z.object({ where: z.enum(["output", "step"]), bytes: z.number().int() }),
      run: async (ctx) => {
        const big = "x".repeat(ctx.args.bytes);
        return ctx.args.where === "step" ? ctx.step("big", () => big) : big;
      },
    }),
    defineProgram({
      name: "test.wait_block_wait",
      description: "Waits for signal go, runs a step that blocks until the test releases it, waits for go again.",
      args: z.object({ key: z.string() }),
      run: async (ctx) => {
        const first = await ctx.waitFor("go");
        await ctx.step("blocked", () => blockerOf(ctx.args.key).promise);
        const second = await ctx.waitFor("go");
        return { first: first.timedOut ? "timed out" : first.payload, second: second.timedOut ? "timed out" : second.payload };
      },
    }),
    defineProgram({
      name: "test.wait_catching",
      description: "Waits for signal go; whatever the wait throws is caught and returned.",
      args: z.object({}),
      run: async (ctx) => {
        try {
          const got = await ctx.waitFor("go");
          return { got: got.timedOut ? "timed out" : got.payload };
        } catch (err) {
          return { caught: String(err) };
        }
      },
    }),
    defineProgram({
      name: "test.timeout_then_wait",
      args: z.object({}),
      run: async (ctx) => {
        const first = await ctx.waitFor("late", { timeoutMs: 200 });
        await ctx.emit("first_wait_done", first.timedOut);
        const second = await ctx.waitFor("late");
        return { first, second: second.timedOut ? "timed out" : second.payload };
      },
    }),
  ],
});
