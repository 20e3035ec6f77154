/**
 * The wire shapes of every handler of the lash services (DESIGN.md, "Restate
 * contract"): one zod schema per input and output. The server validates with
 * them (`restate.serde.schema`), the client derives its types from them. Pure:
 * no Restate SDK, no Node built-ins, so `lash-processes/client` can load it anywhere.
 */
import { z } from "zod";
import { JsonValue } from "./json-value.ts";
import { SessionEntry, SessionId } from "./session-entry.ts";
import { Limits } from "./limits.ts";
import { ProcessAwaitOutput } from "./outcome.ts";
import { ProcessEvent, ProcessRecord, ProcessStatusSchema } from "./record.ts";
import { ProcessRegistration } from "./registration.ts";

// LashProcesses (service)

/** `get({ id })`, and the id part of `events`. */
export const GetInput = z.object({ id: ProcessRegistration.shape.id });
export type GetInput = z.input<typeof GetInput>;

export const StartInput = z.object({ registration: ProcessRegistration });
export type StartInput = z.input<typeof StartInput>;

/** What `start` answers: the row's status right after registration (`pending` for a new process). */
export const StartResult = z.object({ id: z.string(), status: ProcessStatusSchema, invocationId: z.string().optional() });
export type StartResult = z.infer<typeof StartResult>;

/** `list(filter)`: every field optional; `cursor` is the previous page's `nextCursor`; `limit` 1..1000, default 100. */
export const ListInput = z
  .object({
    status: ProcessStatusSchema.optional(),
    sessionId: z.string().optional(),
    /** Only children of this process. */
    parentId: ProcessRegistration.shape.id.optional(),
    /** Only processes of this tool or program. */
    target: z.string().min(1).max(200).optional(),
    /** Only processes whose id contains this text. */
    idContains: z.string().min(1).max(200).optional(),
    /** `id` (default) or `newest` (newest first). */
    order: z.enum(["id", "newest"]).optional(),
    limit: z.number().int().min(1).max(Limits.pageMax).optional(),
    cursor: z.string().optional(),
  })
  .default({});
export type ListFilter = NonNullable<z.input<typeof ListInput>>;

export const ProcessPage = z.object({ items: z.array(ProcessRecord), nextCursor: z.string().optional() });
export type ProcessPage = z.infer<typeof ProcessPage>;

/**
 * Longest `events` long poll. Below Restate's default inactivity timeout (60 s), so a
 * waiting handler is never asked to suspend; a follower simply asks again.
 */
export const EVENTS_MAX_WAIT_MS = 30_000;

export const EventsInput = GetInput.extend({
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(Limits.pageMax).optional(),
  /** Long poll: wait up to this long for an event after `after` (capped, see `EVENTS_MAX_WAIT_MS`). */
  waitMs: z.number().int().min(0).max(EVENTS_MAX_WAIT_MS, `must be at most ${EVENTS_MAX_WAIT_MS} (ms)`).optional(),
});
export type EventsInput = z.input<typeof EventsInput>;

export const EventsPage = z.object({ events: z.array(ProcessEvent) });
export type EventsPage = z.infer<typeof EventsPage>;

/** One entry of an endpoint's catalog (`LashProcesses/tools`): what a host, a model or an MCP client may start. */
export const CatalogEntry = z.object({
  name: z.string(),
  kind: z.enum(["tool", "program"]),
  description: z.string().optional(),
  /** JSON Schema (draft 2020-12) of the arguments, from the body's zod schema (its input side). */
  argsSchema: z.record(z.string(), JsonValue),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

export const CatalogOutput = z.object({ tools: z.array(CatalogEntry) });
export type CatalogOutput = z.infer<typeof CatalogOutput>;

/** `LashProcesses/session`: a page of a session's conversation. */
export const SessionInput = z.object({
  id: SessionId,
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(Limits.pageMax).optional(),
});
export const SessionOutput = z.object({ entries: z.array(SessionEntry) });
export type SessionInput = z.input<typeof SessionInput>;
export type SessionOutput = z.infer<typeof SessionOutput>;

// LashProcessWorkflow (workflow, key = process id)

export const CancelInput = z.object({ reason: z.string().max(2000).optional() }).default({});
export type CancelInput = z.input<typeof CancelInput>;

/** What `cancel` answers: `accepted` false with `alreadyTerminal` true after the end. */
export const CancelResult = z.object({ accepted: z.boolean(), alreadyTerminal: z.boolean() });
export type CancelResult = z.infer<typeof CancelResult>;

export const SignalInput = z.object({
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._:-]+$/, "may contain only letters, digits and . _ : -"),
  payload: JsonValue.optional(),
});
export type SignalInput = z.input<typeof SignalInput>;

/** What `signal` answers: the sequence of the `signal.<name>` event it wrote. */
export const SignalResult = z.object({ sequence: z.number() });
export type SignalResult = z.infer<typeof SignalResult>;

/** From outside: success, failure or cancelled; `abandoned` is evidence only recovery writes. */
export const CompleteInput = z.object({
  output: ProcessAwaitOutput.refine((o) => o.type !== "abandoned", {
    path: ["type"],
    message: "must be success, failure or cancelled (abandoned is written by recovery only)",
  }),
});
export type CompleteInput = z.input<typeof CompleteInput>;

/** What `complete` answers: the same shape as `cancel` (`accepted` false when it was already terminal). */
export const CompleteResult = CancelResult;
export type CompleteResult = z.infer<typeof CompleteResult>;

// LashProcessRecovery (virtual object, key = registry name)

export const SweepInput = z.object({ limit: z.number().int().min(1).optional() }).default({});
export type SweepInput = z.input<typeof SweepInput>;

export const SweepReport = z.object({
  scanned: z.number(),
  submitted: z.number(),
  alreadyActive: z.number(),
  reconciled: z.number(),
  resumed: z.number(),
  skippedExternal: z.number(),
  failed: z.array(z.object({ id: z.string(), error: z.string() })),
});
export type SweepReport = z.infer<typeof SweepReport>;

export const ScheduleInput = z.object({
  everyMs: z
    .number()
    .int()
    .min(1000)
    .max(7 * 24 * 3600 * 1000),
  /** Retention: each scheduled sweep also prunes finished processes older than this (default: `LASH_RETENTION`, else keep). */
  retainForMs: z.number().int().min(0).optional(),
});
export type ScheduleInput = z.input<typeof ScheduleInput>;

export const ScheduleResult = z.object({ everyMs: z.number(), generation: z.number() });
export type ScheduleResult = z.infer<typeof ScheduleResult>;

export const UnscheduleResult = z.object({ scheduled: z.boolean() });
export type UnscheduleResult = z.infer<typeof UnscheduleResult>;

/** `LashProcessRecovery/<name>/prune`: retention by hand (`lashctl prune`). */
export const PruneInput = z.object({
  /** Finished processes whose last update is older than this many ms are deleted with their events. */
  olderThanMs: z.number().int().min(0),
  /** Count and list, delete nothing. */
  dryRun: z.boolean().default(false),
  /** At most this many processes in this call (default 100,000); `more` says whether some are left. */
  limit: z.number().int().min(1).max(1_000_000).default(100_000),
});
export const PruneResult = z.object({
  pruned: z.number(),
  dryRun: z.boolean(),
  more: z.boolean(),
  cutoffMs: z.number(),
  /** The first 1,000 ids, oldest first (to review a dry run). */
  ids: z.array(z.string()),
});
export type PruneResult = z.infer<typeof PruneResult>;
export type PruneInput = z.input<typeof PruneInput>;
