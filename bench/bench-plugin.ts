/**
 * The lash side of the comparison: a program with `count` no-op durable steps
 * (`ctx.step`, i.e. `ctx.run`), the same work `BareWorkflow.run` does. Unlike
 * `std.steps` it touches no file, so only the runtime's own cost is measured.
 */
import { z } from "zod";
import { definePlugin, defineProgram } from "../src/runtime/plugin.ts";

export const BENCH_STEPS_PROGRAM = "bench.steps";
export const BENCH_HOLD_PROGRAM = "bench.steps_then_wait";

export const benchPlugin = definePlugin({
  name: "bench",
  programs: [
    defineProgram({
      name: BENCH_STEPS_PROGRAM,
      args: z.object({ count: z.number().int().min(0).max(1000) }),
      run: async (ctx) => {
        for (let i = 0; i < ctx.args.count; i++) await ctx.step(`step ${i}`, () => i);
        return { steps: ctx.args.count };
      },
    }),
    defineProgram({
      name: BENCH_HOLD_PROGRAM,
      args: z.object({ count: z.number().int().min(0).max(1000) }),
      run: async (ctx) => {
        for (let i = 0; i < ctx.args.count; i++) await ctx.step(`step ${i}`, () => i);
        await ctx.waitFor("release");
        return { steps: ctx.args.count };
      },
    }),
  ],
});
