import * as restate from "@restatedev/restate-sdk";
import type { z } from "zod";
import { ProcessRecord, ServiceNames, isTerminalStatus, redactRecord } from "../model/index.ts";
import {
  CatalogOutput,
  EventsInput,
  EventsPage,
  GetInput,
  ListInput,
  ProcessPage,
  SessionInput,
  SessionOutput,
  StartInput,
  StartResult,
} from "../model/wire.ts";
import { notFound } from "../registry/rules.ts";
import { checkRegistration } from "../runtime/invariants.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import { OPTIONAL_JSON, json, perProcessJson, terminalHandlerOptions } from "../runtime/restate-handlers.ts";
import type { ProcessWorkflow, RunRequest } from "../workflows/process-workflow.ts";
import { cutPageToBytes, cutToBytes, readOnce } from "../runtime/read-bounds.ts";
import { sessionCapOf } from "../runtime/resource-caps.ts";
import { readSession } from "./session-handlers.ts";

/**
 * `LashProcesses`: the front door. `start` registers the row first (so a
 * conflicting registration is a 409, which `/run/send` cannot report), then
 * sends `run` once as a journaled one-way call. Reads go straight to the registry.
 *
 * The registration is not a journaled step: `register` without `startRun` is idempotent by
 * content (the same registration again finds its row, a different one is a 409), so a retried
 * `start` registers again, and the one-way call, journaled, is sent once whatever the attempt.
 * That saves a round trip to restate-server per start. What a retried attempt answers is the
 * row as it is then (`status` may have moved on, e.g. to `running`).
 */
export function createProcessesService(rt: LashRuntime, workflow: ProcessWorkflow) {
  const { registry } = rt;
  return restate.service({
    name: ServiceNames.processes,
    handlers: {
      start: restate.handlers.handler(
        { input: perProcessJson(StartInput), output: perProcessJson(StartResult) },
        async (ctx: restate.Context, { registration }) => {
          checkRegistration(rt, registration.id, registration);
          const { record } = await registry.register(registration, { sessionCap: sessionCapOf(rt.caps) });
          // A starter's W3C trace context travels on to the run, whose span it parents.
          const traceparent = ctx.request().headers.get("traceparent");
          const client = ctx.workflowSendClient(workflow, record.id);
          const handle =
            traceparent === undefined
              ? client.run({ registration })
              : client.run({ registration }, restate.rpc.sendOpts<z.output<typeof RunRequest>>({ headers: { traceparent } }));
          return { id: record.id, status: record.status, invocationId: await handle.invocationId };
        },
      ),

      get: restate.handlers.handler({ input: json(GetInput), output: json(ProcessRecord) }, async (_ctx: restate.Context, { id }) => {
        const record = await readOnce("get", () => registry.get(id));
        if (record === undefined) throw notFound(id);
        return redactRecord(record);
      }),

      list: restate.handlers.handler({ input: json(ListInput), output: json(ProcessPage), accept: OPTIONAL_JSON }, async (_ctx: restate.Context, filter) => {
        const page = await readOnce("list", () => registry.list(filter));
        return cutPageToBytes({ ...page, items: page.items.map(redactRecord) });
      }),

      events: restate.handlers.handler({ input: json(EventsInput), output: json(EventsPage) }, async (_ctx: restate.Context, { id, after, limit, waitMs }) => {
        const record = await readOnce("events", () => registry.get(id));
        if (record === undefined) throw notFound(id);
        // Cut by bytes too: the caller continues with `after` = the last sequence returned.
        const page = async () => cutToBytes(await readOnce("events", () => registry.eventsAfter(id, after, limit))).items;
        const events = await page();
        // Long poll: a read-only handler, so waiting outside a durable step journals nothing.
        if (events.length > 0 || !waitMs || isTerminalStatus(record.status)) return { events };
        const first = await registry.waitEventAfter(id, undefined, after, waitMs);
        return { events: first === undefined ? [] : await page() };
      }),

      /** The endpoint's catalog: every tool and program with its arguments as JSON Schema. */
      tools: restate.handlers.handler({ output: json(CatalogOutput) }, async () => ({ tools: rt.plugins.catalog() })),

      /** A session's conversation (messages, tool calls and results, usage), in append order. */
      session: restate.handlers.handler({ input: json(SessionInput), output: json(SessionOutput) }, async (_ctx: restate.Context, input) =>
        readSession(rt, input),
      ),
    },
    options: terminalHandlerOptions,
  });
}
