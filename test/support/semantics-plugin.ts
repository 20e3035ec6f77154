/** Programs exercising authoritative cancellation, cleanup, parent-close policy and deadlines. */
import { z } from "zod";
import { definePlugin, defineProgram } from "../../src/runtime/plugin.ts";
import { sideEffects } from "./test-plugin.ts";

const bump = (key: string) => sideEffects.set(key, (sideEffects.get(key) ?? 0) + 1);
const waitForever = { type: "tool_call", call: { tool: "std.wait_signal", args: { name: "never" } } } as const;

export const semanticsPlugin = definePlugin({
  name: "sem",
  programs: [
    defineProgram({
      name: "sem.swallow_cancel",
      description: "Catches its cancellation and returns success anyway.",
      args: z.object({}),
      run: async (ctx) => {
        try {
          await ctx.waitFor("never");
        } catch {
          // ignores the cancellation
        }
        return "ignored the cancel";
      },
    }),
    defineProgram({
      name: "sem.cleanup",
      description: "On cancel: a plain step is refused, a cleanup step runs; then returns success (outcome stays cancelled).",
      args: z.object({ key: z.string(), cleanupSleepMs: z.number().int().optional(), graceMs: z.number().int().optional() }),
      run: async (ctx) => {
        try {
          await ctx.waitFor("never");
        } catch {
          try {
            await ctx.step("not allowed after cancel", () => bump(`${ctx.args.key}:plain`));
          } catch {
            bump(`${ctx.args.key}:refused`);
          }
          await ctx.cleanup(
            async () => {
              await ctx.step("release", () => bump(`${ctx.args.key}:cleanup`));
              if (ctx.args.cleanupSleepMs !== undefined) {
                try {
                  await ctx.sleep(ctx.args.cleanupSleepMs);
                  bump(`${ctx.args.key}:slept`);
                } catch {
                  bump(`${ctx.args.key}:grace_over`);
                }
              }
            },
            ctx.args.graceMs === undefined ? {} : { graceMs: ctx.args.graceMs },
          );
        }
        return "cleaned up";
      },
    }),
    defineProgram({
      name: "sem.spawn_and_return",
      description: "Starts children that wait forever (each with the given policy) and returns at once.",
      args: z.object({
        policy: z.enum(["cancel", "abandon"]).optional(),
        depth: z.number().int().min(0).default(1),
        fail: z.boolean().default(false),
        /** Return only once signalled `return` (so a test can let the whole tree start first). */
        hold: z.boolean().default(false),
      }),
      run: async (ctx): Promise<unknown> => {
        const spec = ctx.args.depth > 1 ? { type: "program" as const, name: "sem.spawn_and_wait", args: { depth: ctx.args.depth - 1 } } : waitForever;
        const child = await ctx.start({ input: spec, ...(ctx.args.policy === undefined ? {} : { parentClosePolicy: ctx.args.policy }) });
        if (ctx.args.hold) await ctx.waitFor("return");
        if (ctx.args.fail) throw new Error("parent failed on purpose");
        return { child: child.id };
      },
    }),
    defineProgram({
      name: "sem.spawn_and_wait",
      description: "Starts a child (recursively, depth times) and waits for it.",
      args: z.object({ depth: z.number().int().min(0), childTimeoutMs: z.number().int().optional() }),
      run: async (ctx): Promise<unknown> => {
        if (ctx.args.depth === 0) return ctx.waitFor("never");
        const input = { type: "program" as const, name: "sem.spawn_and_wait", args: { depth: ctx.args.depth - 1 } };
        const child = await ctx.start({ input, ...(ctx.args.childTimeoutMs === undefined ? {} : { timeoutMs: ctx.args.childTimeoutMs }) });
        return child.result();
      },
    }),
  ],
});
