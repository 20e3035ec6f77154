/**
 * The baseline: a bare Restate workflow whose `run` does `steps` no-op `ctx.run`
 * steps and returns. Same step count and step body as the lash bench program
 * (`bench-plugin.ts`), so the difference is what lash adds around the body.
 */
import * as restate from "@restatedev/restate-sdk";

export interface BareRunInput {
  steps: number;
  /** Hold before returning until `release` resolves the `release` promise (journal counting). */
  hold?: boolean;
}

export const bareWorkflow = restate.workflow({
  name: "BareWorkflow",
  handlers: {
    run: async (ctx: restate.WorkflowContext, input: BareRunInput): Promise<{ steps: number }> => {
      for (let i = 0; i < input.steps; i++) await ctx.run(`step ${i}`, () => i);
      if (input.hold === true) await ctx.promise<null>("release").get();
      return { steps: input.steps };
    },
    release: async (ctx: restate.WorkflowSharedContext): Promise<void> => {
      await ctx.promise<null>("release").resolve(null);
    },
  },
});
