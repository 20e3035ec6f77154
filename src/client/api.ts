/**
 * The wire shapes of the lash services as the ingress client sees them: plain
 * interfaces (no import of the server code), handler signatures in the SDK's
 * `(ctx, input) => Promise<output>` form so the typed ingress client infers them.
 * Handlers with an input take a JSON object (`{}` when every field is optional).
 */
import {
  TERMINAL_STATUSES,
  type ProcessAwaitOutput,
  type ProcessEvent,
  type ProcessRecord,
  type ProcessRegistrationInput,
  type ProcessStatus,
} from "../model/index.ts";

export interface StartResult {
  id: string;
  /** The row's status right after registration (`pending` for a new process). */
  status: ProcessStatus;
  invocationId?: string;
}

export interface ListFilter {
  status?: ProcessStatus;
  sessionId?: string;
  /** 1..1000, default 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface ProcessPage {
  items: ProcessRecord[];
  nextCursor?: string;
}

export interface CancelResult {
  accepted: boolean;
  alreadyTerminal: boolean;
}

export interface SweepReport {
  scanned: number;
  submitted: number;
  alreadyActive: number;
  reconciled: number;
  resumed: number;
  skippedExternal: number;
  failed: { id: string; error: string }[];
}

export interface ScheduleResult {
  everyMs: number;
  generation: number;
}

type Handler<I, O> = (ctx: unknown, input: I) => Promise<O>;
type NoInputHandler<O> = (ctx: unknown) => Promise<O>;

export interface LashProcessesApi {
  start: Handler<{ registration: ProcessRegistrationInput }, StartResult>;
  get: Handler<{ id: string }, ProcessRecord>;
  list: Handler<ListFilter, ProcessPage>;
  events: Handler<{ id: string; after?: number; limit?: number }, { events: ProcessEvent[] }>;
  tools: NoInputHandler<{ tools: CatalogEntry[] }>;
  session: Handler<{ id: string; after?: number; limit?: number }, { entries: SessionEntry[] }>;
}

/** One tool or program of an endpoint's catalog (`LashProcesses/tools`). */
export interface CatalogEntry {
  name: string;
  kind: "tool" | "program";
  description?: string;
  /** JSON Schema (draft 2020-12) of the arguments. */
  argsSchema: Record<string, unknown>;
}

/** One entry of a session's conversation (`LashProcesses/session`). */
export interface SessionEntry {
  sessionId: string;
  sequence: number;
  turnId: string;
  attempt: number;
  message:
    | { role: "system" | "user"; content: string }
    | { role: "assistant"; content: string | null; toolCalls?: { id: string; name: string; arguments: string }[] }
    | { role: "tool"; toolCallId: string; name: string; content: string; processId?: string };
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number };
  final: boolean;
  occurredAtMs: number;
  replayKey: string;
}

export interface LashProcessWorkflowApi {
  cancel: Handler<{ reason?: string }, CancelResult>;
  signal: Handler<{ name: string; payload?: unknown }, { sequence: number }>;
  awaitTerminal: NoInputHandler<ProcessAwaitOutput>;
  status: NoInputHandler<ProcessRecord>;
  complete: Handler<{ output: ProcessAwaitOutput }, CancelResult>;
}

export interface LashProcessRecoveryApi {
  sweep: Handler<{ limit?: number }, SweepReport>;
  schedule: Handler<{ everyMs: number }, ScheduleResult>;
  unschedule: NoInputHandler<{ scheduled: boolean }>;
}

/** Event types that end a process: the last event of its log. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([...TERMINAL_STATUSES].map((s) => `process.${s}`));
