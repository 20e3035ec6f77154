import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { Limits, ProcessEvent, ProcessRecord, ProcessRegistration, ProcessStatusSchema, ServiceNames } from "../model/index.ts";
import { notFound } from "../registry/rules.ts";
import { CatalogOutput } from "../runtime/catalog.ts";
import { checkRegistration } from "../runtime/invariants.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import { OPTIONAL_JSON, type ProcessWorkflow } from "../workflows/process-workflow.ts";
import { terminalHandlerOptions } from "./handler-support.ts";
import { SessionInput, SessionOutput, readSession } from "./session-handlers.ts";

const IdInput = z.object({ id: ProcessRegistration.shape.id });
export const StartInput = z.object({ registration: ProcessRegistration });
export const StartOutput = z.object({ id: z.string(), status: ProcessStatusSchema, invocationId: z.string().optional() });
export const ListInput = z
  .object({
    status: ProcessStatusSchema.optional(),
    sessionId: z.string().optional(),
    limit: z.number().int().min(1).max(Limits.pageMax).optional(),
    cursor: z.string().optional(),
  })
  .default({});
export const ListOutput = z.object({ items: z.array(ProcessRecord), nextCursor: z.string().optional() });
export const EventsInput = IdInput.extend({
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(Limits.pageMax).optional(),
});
export const EventsOutput = z.object({ events: z.array(ProcessEvent) });

const json = <T extends z.ZodType>(schema: T) => restate.serde.schema(schema);

/**
 * `LashProcesses`: the front door. `start` registers the row first (so a
 * conflicting registration is a 409, which `/run/send` cannot report), then
 * sends `run` once as a journaled one-way call. Reads go straight to the registry.
 */
export function createProcessesService(rt: LashRuntime, workflow: ProcessWorkflow) {
  const { registry } = rt;
  return restate.service({
    name: ServiceNames.processes,
    handlers: {
      start: restate.handlers.handler({ input: json(StartInput), output: json(StartOutput) }, async (ctx: restate.Context, { registration }) => {
        checkRegistration(rt, registration.id, registration);
        const record = await ctx.run("register", async () => (await registry.register(registration)).record);
        const handle = ctx.workflowSendClient(workflow, record.id).run({ registration });
        return { id: record.id, status: record.status, invocationId: await handle.invocationId };
      }),

      get: restate.handlers.handler({ input: json(IdInput), output: json(ProcessRecord) }, async (_ctx: restate.Context, { id }) => {
        const record = await registry.get(id);
        if (record === undefined) throw notFound(id);
        return record;
      }),

      list: restate.handlers.handler({ input: json(ListInput), output: json(ListOutput), accept: OPTIONAL_JSON }, async (_ctx: restate.Context, filter) =>
        registry.list(filter),
      ),

      events: restate.handlers.handler({ input: json(EventsInput), output: json(EventsOutput) }, async (_ctx: restate.Context, { id, after, limit }) => {
        if ((await registry.get(id)) === undefined) throw notFound(id);
        return { events: await registry.eventsAfter(id, after, limit) };
      }),

      /** The endpoint's catalog: every tool and program with its arguments as JSON Schema. */
      tools: restate.handlers.handler({ output: json(CatalogOutput) }, async () => ({ tools: rt.plugins.catalog() })),

      /** A session's conversation (messages, tool calls and results, usage), in append order. */
      session: restate.handlers.handler({ input: json(SessionInput), output: json(SessionOutput) }, async (_ctx: restate.Context, input) => readSession(rt, input)),
    },
    options: terminalHandlerOptions,
  });
}
