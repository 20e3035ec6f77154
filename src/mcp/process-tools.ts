/**
 * The MCP tools for long-running processes, beside the catalog's: status, await,
 * cancel, events. Each is a JSON Schema (what MCP lists) and a handler over the client.
 */
import type { LashProcessClient } from "../client/index.ts";
import type { ProcessAwaitOutput, ProcessEvent } from "../model/index.ts";

export interface McpToolSpec {
  name: string;
  description: string;
  inputSchema: { type: "object"; properties: Record<string, object>; required?: string[] };
  run(client: LashProcessClient, args: Record<string, unknown>, signal: AbortSignal): Promise<McpToolAnswer>;
}

/** What a tool call answers: a JSON value, and whether it is an error (a failed process, a refused request). */
export interface McpToolAnswer {
  value: unknown;
  isError: boolean;
}

const id = { type: "string", description: "the process id" };

/** Waits for an outcome at most `waitMs`; `undefined` when the process is still running then. */
export async function outcomeWithin(
  client: LashProcessClient,
  processId: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<ProcessAwaitOutput | undefined> {
  const timeout = AbortSignal.timeout(waitMs);
  try {
    return await client.handle(processId).result({ signal: AbortSignal.any([signal, timeout]) });
  } catch (err) {
    if (timeout.aborted && !signal.aborted) return undefined;
    throw err;
  }
}

/** A finished process's answer, or its id and status when it is still running. */
export async function answerFor(client: LashProcessClient, processId: string, waitMs: number, signal: AbortSignal): Promise<McpToolAnswer> {
  const outcome = await outcomeWithin(client, processId, waitMs, signal);
  if (outcome === undefined) {
    const record = await client.get(processId);
    return {
      value: {
        processId,
        status: record.status,
        note: `still running after ${waitMs} ms; use lash_process_await, lash_process_events or lash_process_cancel with this processId`,
      },
      isError: false,
    };
  }
  return { value: { processId, outcome }, isError: outcome.type !== "success" };
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const int = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : fallback);

export function processTools(defaultWaitMs: number): McpToolSpec[] {
  return [
    {
      name: "lash_process_status",
      description: "The registry row of a lash process: status (queued, pending, running, waiting, completed, failed, cancelled, abandoned), attempt, outcome.",
      inputSchema: { type: "object", properties: { processId: id }, required: ["processId"] },
      run: async (client, args) => ({ value: await client.get(str(args.processId)), isError: false }),
    },
    {
      name: "lash_process_await",
      description: `Waits for a lash process to end (at most waitMs, default ${defaultWaitMs}) and returns its outcome, or its status if it is still running.`,
      inputSchema: {
        type: "object",
        properties: { processId: id, waitMs: { type: "integer", minimum: 0, maximum: 600_000 } },
        required: ["processId"],
      },
      run: (client, args, signal) => answerFor(client, str(args.processId), Math.min(int(args.waitMs, defaultWaitMs), 600_000), signal),
    },
    {
      name: "lash_process_cancel",
      description: "Cancels a lash process (and the children it started). A process that already ended is left as it is.",
      inputSchema: { type: "object", properties: { processId: id, reason: { type: "string" } }, required: ["processId"] },
      run: async (client, args) => ({
        value: await client.handle(str(args.processId)).cancel(typeof args.reason === "string" ? args.reason : undefined),
        isError: false,
      }),
    },
    {
      name: "lash_process_events",
      description: "A lash process's event log after sequence `after` (default 0), at most `limit` events (default 100).",
      inputSchema: {
        type: "object",
        properties: { processId: id, after: { type: "integer", minimum: 0 }, limit: { type: "integer", minimum: 1, maximum: 1000 } },
        required: ["processId"],
      },
      run: async (client, args) => {
        const processId = str(args.processId);
        const limit = Math.min(Math.max(int(args.limit, 100), 1), 1000);
        const events: ProcessEvent[] = [];
        for await (const event of client.handle(processId).events({ after: int(args.after, 0), pageSize: limit })) {
          events.push(event);
          if (events.length >= limit) break;
        }
        return { value: { events }, isError: false };
      },
    },
  ];
}
