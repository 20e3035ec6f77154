import { z } from "zod";
import { ProcessFailure, createLashEndpoint, definePlugin, defineProgram, defineTool, readEnvConfig } from "lash-processes";

const greet = definePlugin({
  name: "greet",
  tools: [
    defineTool({
      name: "greet.hello",
      description: "Greets someone.",
      args: z.object({ name: z.string().min(1) }),
      run: async (ctx) => ({ greeting: `hello ${ctx.args.name}` }),
    }),
  ],
  programs: [
    defineProgram({
      name: "greet.approval",
      description: "Waits for the signal `approve`, then welcomes the person.",
      args: z.object({ name: z.string(), timeoutMs: z.number().int().default(600_000) }),
      run: async (ctx) => {
        const decision = await ctx.waitFor<{ ok: boolean }>("approve", { timeoutMs: ctx.args.timeoutMs });
        if (decision.timedOut || !decision.payload.ok) {
          throw new ProcessFailure("permission_denied", "not_approved", `${ctx.args.name} was not approved`);
        }
        const at = await ctx.step("welcome", () => new Date().toISOString());
        return { welcome: ctx.args.name, at };
      },
    }),
  ],
});

// The std plugin is always there; yours come next. Configured from env (see Configuration).
const config = readEnvConfig();
const endpoint = await createLashEndpoint(config, [greet]);
await endpoint.listen(config.PORT, config.LASH_BIND_HOST);
console.info(`greet endpoint listening on :${config.PORT}`);
