import { z } from "zod";
import { definePlugin, defineTool } from "lash-processes";

export const add = defineTool({
  name: "acc.add",
  description: "Adds two numbers.",
  args: z.object({ a: z.number(), b: z.number() }),
  run: async (ctx) => {
    const sum = await ctx.step("add", () => ctx.args.a + ctx.args.b);
    return { sum };
  },
});

export const accounting = definePlugin({ name: "acc", tools: [add] });
