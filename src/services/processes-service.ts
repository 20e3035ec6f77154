import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { Limits, ProcessEvent, isTerminalStatus, ProcessRecord, ProcessRegistration, ProcessStatusSchema, ServiceNames } from "../model/index.ts";
import { notFound } from "../registry/rules.ts";
import { checkRegistration } from "../runtime/invariants.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import { OPTIONAL_JSON, RunRequest, type ProcessWorkflow } from "../workflows/process-workflow.ts";
import { terminalHandlerOptions } from "./handler-support.ts";

/**
 * Longest `events` long poll. Below Restate's default inactivity timeout (60 s), so a
 * waiting handler is never asked to suspend; a follower simply asks again.
 */
export const EVENTS_MAX_WAIT_MS = 30_000;

const IdInput = z.object({ id: ProcessRegistration.shape.id });
export const StartInput = z.object({ registration: ProcessRegistration });
export const StartOutput = z.object({ id: z.string(), status: ProcessStatusSchema, invocationId: z.string().optional() });
export const ListInput = z
  .object({
    status: ProcessStatusSchema.optional(),
    sessionId: z.string().optional(),
    parentId: ProcessRegistration.shape.id.optional(),
    target: z.string().min(1).max(200).optional(),
    idContains: z.string().min(1).max(200).optional(),
    order: z.enum(["id", "newest"]).optional(),
    limit: z.number().int().min(1).max(Limits.pageMax).optional(),
    cursor: z.string().optional(),
  })
  .default({});
export const ListOutput = z.object({ items: z.array(ProcessRecord), nextCursor: z.string().optional() });
export const EventsInput = IdInput.extend({
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(Limits.pageMax).optional(),
  /** Long poll: wait up to this long for an event after `after` (capped, see `EVENTS_MAX_WAIT_MS`). */
  waitMs: z.number().int().min(0).max(EVENTS_MAX_WAIT_MS, `must be at most ${EVENTS_MAX_WAIT_MS} (ms)`).optional(),
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
        // A starter's W3C trace context travels on to the run, whose span it parents.
        const traceparent = ctx.request().headers.get("traceparent");
        const client = ctx.workflowSendClient(workflow, record.id);
        const handle =
          traceparent === undefined
            ? client.run({ registration })
            : client.run({ registration }, restate.rpc.sendOpts<z.output<typeof RunRequest>>({ headers: { traceparent } }));
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

      events: restate.handlers.handler({ input: json(EventsInput), output: json(EventsOutput) }, async (_ctx: restate.Context, { id, after, limit, waitMs }) => {
        const record = await registry.get(id);
        if (record === undefined) throw notFound(id);
        const events = await registry.eventsAfter(id, after, limit);
        // Long poll: a read-only handler, so waiting outside a durable step journals nothing.
        if (events.length > 0 || !waitMs || isTerminalStatus(record.status)) return { events };
        const first = await registry.waitEventAfter(id, undefined, after, waitMs);
        return { events: first === undefined ? [] : await registry.eventsAfter(id, after, limit) };
      }),
    },
    options: terminalHandlerOptions,
  });
}
