import { z } from "zod";
import { ProcessAwaitOutput } from "./outcome.ts";
import { ProcessId } from "./process-id.ts";
import { JsonValue } from "./json-value.ts";
import { EventTypeDecl, ProcessInput, Provenance } from "./registration.ts";

export const ProcessStatus = {
  /** Waiting for a concurrency slot (`maxConcurrent`, `LASH_MAX_CONCURRENT`); the body has not started. */
  queued: "queued",
  pending: "pending",
  running: "running",
  waiting: "waiting",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  abandoned: "abandoned",
} as const;
export type ProcessStatus = (typeof ProcessStatus)[keyof typeof ProcessStatus];
export const ProcessStatusSchema = z.enum(ProcessStatus);

export const TERMINAL_STATUSES: ReadonlySet<ProcessStatus> = new Set(["completed", "failed", "cancelled", "abandoned"]);
export const isTerminalStatus = (s: ProcessStatus): boolean => TERMINAL_STATUSES.has(s);

/** The terminal status an outcome puts a process in. */
export function statusOfOutcome(output: ProcessAwaitOutput): ProcessStatus {
  switch (output.type) {
    case "success":
      return "completed";
    case "failure":
      return "failed";
    case "cancelled":
      return "cancelled";
    case "abandoned":
      return "abandoned";
  }
}

export const CoreEventTypes = {
  started: "process.started",
  cancelRequested: "process.cancel_requested",
  completed: "process.completed",
  failed: "process.failed",
  cancelled: "process.cancelled",
  abandoned: "process.abandoned",
  /** The run was refused at the boundary (unknown tool after an upgrade, other host profile): written once, before `process.failed`. */
  recoveryFailed: "process.recovery_failed",
} as const;
export const CORE_EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(CoreEventTypes));
/** Event types that end a process: the last event of its log. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  CoreEventTypes.completed,
  CoreEventTypes.failed,
  CoreEventTypes.cancelled,
  CoreEventTypes.abandoned,
]);
export const isTerminalEventType = (type: string): boolean => TERMINAL_EVENT_TYPES.has(type);

/** The terminal event type written together with an outcome. */
export const terminalEventType = (output: ProcessAwaitOutput): string => `process.${statusOfOutcome(output)}`;
export const signalEventType = (name: string): string => `signal.${name}`;

export const ProcessRecord = z.object({
  id: ProcessId,
  input: ProcessInput,
  eventTypes: z.array(EventTypeDecl),
  provenance: Provenance,
  maxAttempts: z.number().int(),
  timeoutMs: z.number().int().optional(),
  registrationHash: z.string(),
  status: ProcessStatusSchema,
  attempt: z.number().int(),
  outcome: ProcessAwaitOutput.optional(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});
export type ProcessRecord = z.infer<typeof ProcessRecord>;

export const ProcessEvent = z.object({
  processId: ProcessId,
  sequence: z.number().int().min(1),
  type: z.string(),
  payload: JsonValue,
  occurredAtMs: z.number(),
  replayKey: z.string().optional(),
});
export type ProcessEvent = z.infer<typeof ProcessEvent>;

export const EventAppend = z.object({
  type: z.string().min(1),
  payload: JsonValue.default(null),
  replayKey: z.string().min(1).max(200).optional(),
});
export type EventAppend = z.input<typeof EventAppend>;
