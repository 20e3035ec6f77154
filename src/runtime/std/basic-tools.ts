import { appendFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { FailureClass, JsonValue, NAME_PATTERN, NAME_PATTERN_MESSAGE, ProcessInput } from "../../model/index.ts";
import { defineTool } from "../plugin.ts";
import { ProcessFailure } from "../process-failure.ts";

export const echoTool = defineTool({
  name: "std.echo",
  description: "Returns its `value` argument.",
  args: z.object({ value: JsonValue }),
  run: async (ctx) => ctx.args.value,
});

export const sleepTool = defineTool({
  name: "std.sleep",
  description: "Waits `ms` on a durable timer.",
  args: z.object({
    ms: z
      .number()
      .int()
      .min(0)
      .max(366 * 24 * 3600 * 1000),
  }),
  run: async (ctx) => {
    await ctx.sleep(ctx.args.ms);
    return { sleptMs: ctx.args.ms };
  },
});

export const failTool = defineTool({
  name: "std.fail",
  description: "Ends the process with the failure it is given.",
  args: z.object({ class: FailureClass.default("execution"), code: z.string().min(1), message: z.string() }),
  run: async (ctx) => {
    throw new ProcessFailure(ctx.args.class, ctx.args.code, ctx.args.message);
  },
});

export const waitSignalTool = defineTool({
  name: "std.wait_signal",
  description: "Collects `count` signals named `name`, in send order; `timeoutMs` bounds each wait.",
  args: z.object({
    name: z.string().regex(NAME_PATTERN, NAME_PATTERN_MESSAGE),
    count: z.number().int().min(1).max(1000).default(1),
    timeoutMs: z.number().int().min(0).optional(),
  }),
  run: async (ctx) => {
    const { name, count, timeoutMs } = ctx.args;
    const payloads: unknown[] = [];
    while (payloads.length < count) {
      const got = await ctx.waitFor(name, timeoutMs === undefined ? {} : { timeoutMs });
      if (got.timedOut) {
        throw new ProcessFailure("timeout", "signal_timeout", `no signal "${name}" within ${timeoutMs} ms (${payloads.length}/${count} received)`, {
          raw: { received: payloads },
        });
      }
      payloads.push(got.payload);
    }
    return { payloads };
  },
});

export const fanoutTool = defineTool({
  name: "std.fanout",
  description: "Starts child `<parentId>.<i>-<random>` per input, awaits all; results in input order.",
  args: z.object({ children: z.array(ProcessInput).min(1).max(1000) }),
  run: async (ctx) => {
    const handles = [];
    for (const input of ctx.args.children) handles.push(await ctx.start({ input }));
    const results = [];
    for (const handle of handles) results.push(await handle.result());
    return { results };
  },
});

/**
 * `std.steps` writes files, so it is a test tool: refused with `permission_denied`
 * (before any step runs) unless the endpoint enables it (`LASH_ENABLE_TEST_TOOLS=1`).
 */
export const stepsTool = (enabled: boolean) =>
  defineTool({
    name: "std.steps",
    description: "Runs `count` durable steps; step i appends `<processId> <i>` to `file` (proves exactly-once).",
    args: z.object({
      count: z.number().int().min(0).max(10_000),
      file: z.string().min(1),
      stepMs: z.number().int().min(0).max(3_600_000).default(0),
    }),
    run: async (ctx) => {
      if (!enabled)
        throw new ProcessFailure("permission_denied", "test_tools_disabled", "std.steps is disabled on this endpoint (set LASH_ENABLE_TEST_TOOLS=1)");
      const { count, file, stepMs } = ctx.args;
      for (let i = 0; i < count; i++) {
        await ctx.step(`step ${i}`, async (signal) => {
          if (stepMs > 0) await delay(stepMs, undefined, { signal });
          try {
            await appendFile(file, `${ctx.processId} ${i}\n`);
          } catch (err) {
            // A missing directory (or a path that is not one) will not appear by retrying.
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR")
              throw new ProcessFailure("io", "steps_file_unwritable", `cannot append to the steps file (${code})`);
            throw err;
          }
        });
      }
      return { steps: count };
    },
  });
