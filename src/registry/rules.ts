/**
 * The registry's rules, shared by every adapter: what a valid registration is,
 * which events may be appended, and how a second `complete` is answered.
 * Pure functions over records; adapters call them inside their transactions.
 */
import { Validator } from "@cfworker/json-schema";
import {
  CORE_EVENT_TYPES,
  CoreEventTypes,
  EventAppend,
  TURN_EVENT_TYPES,
  LashError,
  Limits,
  ProcessAwaitOutput,
  ProcessRegistration,
  canonicalJson,
  isTerminalStatus,
  jsonSize,
  parseOrThrow,
  registrationHash,
  type EventTypeDecl,
  type ProcessEvent,
  type ProcessRecord,
  type ProcessRegistrationInput,
} from "../model/index.ts";
import { targetOf } from "../model/target.ts";
import { schemaProblem } from "./payload-schema.ts";
import type { CancelRequest, CompleteDisposition, ListFilter } from "./port.ts";

export interface PreparedRegistration {
  registration: ProcessRegistration;
  hash: string;
}

/**
 * Validates a registration (naming the bad field) and computes its content hash.
 * Payload schemas are screened here (see `payload-schema.ts`): one the validator
 * cannot evaluate would otherwise fail every later append of that type.
 */
export function prepareRegistration(input: ProcessRegistrationInput): PreparedRegistration {
  const registration = parseOrThrow(ProcessRegistration, input, "registration");
  registration.eventTypes.forEach((decl, i) => {
    if (decl.payloadSchema === undefined) return;
    const problem = schemaProblem(decl.payloadSchema);
    if (problem !== undefined) {
      const field = `registration.eventTypes.${i}.payloadSchema`;
      throw new LashError("invalid_input", `${field}: not a usable JSON Schema (${problem})`, { field });
    }
  });
  return { registration, hash: registrationHash(registration) };
}

export function assertSameRegistration(existing: ProcessRecord, hash: string): void {
  if (existing.registrationHash !== hash) {
    throw new LashError(
      "registration_conflict",
      `process "${existing.id}" is already registered with different content (hash ${existing.registrationHash.slice(0, 12)}…)`,
      { field: "registration" },
    );
  }
}

export function newRecord({ registration, hash }: PreparedRegistration, nowMs: number): ProcessRecord {
  return {
    id: registration.id,
    input: registration.input,
    eventTypes: registration.eventTypes,
    provenance: registration.provenance,
    maxAttempts: registration.maxAttempts,
    ...(registration.timeoutMs === undefined ? {} : { timeoutMs: registration.timeoutMs }),
    registrationHash: hash,
    status: "pending",
    attempt: 1,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

export function notFound(id: string): LashError {
  return new LashError("not_found", `process "${id}" is not registered`, { field: "id" });
}

export interface CheckedAppend {
  type: string;
  payload: ProcessEvent["payload"];
  replayKey?: string;
}

/** The part of a record an append is checked against (adapters need not load `input`). */
export type AppendTarget = Pick<ProcessRecord, "id" | "status" | "eventTypes" | "registrationHash">;

/** Parses an append's shape (type, payload, replay key) without looking at the process. */
export function parseAppend(input: EventAppend): CheckedAppend {
  const event = parseOrThrow(EventAppend, input, "event");
  return event.replayKey === undefined ? { type: event.type, payload: event.payload } : event;
}

/**
 * Checks an append against the process's declared types and schemas. Terminal
 * events are written only by `complete`, `process.started` only by `markStarted`.
 * Adapters answer a replayed append (`replayOf`) before calling this, so a retried
 * step still gets its original event after the process ended.
 */
export function checkAppend(record: AppendTarget, event: CheckedAppend): CheckedAppend {
  if (isTerminalStatus(record.status)) {
    throw new LashError("process_terminal", `process "${record.id}" is ${record.status}; no event may follow its terminal event`);
  }
  const size = jsonSize(event.payload);
  if (size > Limits.eventPayloadMaxBytes) {
    throw new LashError("limit_exceeded", `event.payload is ${size} bytes; the limit is ${Limits.eventPayloadMaxBytes}`, {
      field: "event.payload",
    });
  }
  const decl = record.eventTypes.find((d) => d.name === event.type);
  const isCore = event.type === CoreEventTypes.cancelRequested || event.type === CoreEventTypes.recoveryFailed || TURN_EVENT_TYPES.has(event.type);
  if (decl === undefined && !isCore && !event.type.startsWith("signal.")) {
    const why = CORE_EVENT_TYPES.has(event.type) ? "is written by the runtime only" : "is not declared in registration.eventTypes";
    throw new LashError("event_type_undeclared", `event type "${event.type}" ${why}`, { field: "event.type" });
  }
  if (decl?.payloadSchema !== undefined) assertPayloadMatches(record.registrationHash, decl, event.payload);
  return event;
}

const validators = new Map<string, Validator>();

function assertPayloadMatches(hash: string, decl: EventTypeDecl, payload: unknown): void {
  const key = `${hash}/${decl.name}`;
  let validator = validators.get(key);
  if (validator === undefined) {
    if (validators.size > 1000) validators.clear();
    validator = new Validator(decl.payloadSchema as object, "2020-12", false);
    validators.set(key, validator);
  }
  let result: ReturnType<Validator["validate"]>;
  try {
    result = validator.validate(payload);
  } catch (err) {
    // Registration screens schemas, but a schema the validator still cannot evaluate
    // must give a typed (non-retried) error, not a plain Error on every append.
    throw new LashError("event_payload_invalid", `event.payload: the payloadSchema of "${decl.name}" cannot be evaluated (${String(err)})`, {
      field: "event.payload",
      cause: err,
    });
  }
  if (!result.valid) {
    const first = result.errors.find((e) => e.instanceLocation !== "#") ?? result.errors[0];
    const where = first?.instanceLocation.replace(/^#\/?/, "").replaceAll("/", ".") ?? "";
    const field = where ? `event.payload.${where}` : "event.payload";
    throw new LashError("event_payload_invalid", `${field}: ${first?.error ?? "does not match"} (schema of "${decl.name}")`, { field });
  }
}

/** Same replay key: the same payload returns the original event, another one conflicts. */
export function replayOf(existing: ProcessEvent, append: CheckedAppend): ProcessEvent {
  if (existing.type !== append.type || canonicalJson(existing.payload) !== canonicalJson(append.payload)) {
    throw new LashError("replay_conflict", `replay key "${append.replayKey}" was already used for another event (sequence ${existing.sequence})`, {
      field: "event.replayKey",
    });
  }
  return existing;
}

export function parseOutput(output: unknown): ProcessAwaitOutput {
  const parsed = parseOrThrow(ProcessAwaitOutput, output, "output");
  const size = jsonSize(parsed);
  if (size > Limits.outcomeMaxBytes) {
    throw new LashError("limit_exceeded", `output is ${size} bytes; the limit is ${Limits.outcomeMaxBytes}`, { field: "output" });
  }
  return parsed;
}

/**
 * Cancellation is authoritative: once a `process.cancel_requested` stands on a live row,
 * whatever outcome is offered next is stored as `cancelled`, with the first request's
 * reason. So a cancel answered `accepted: true` always wins, even against a body that
 * caught the cancellation and returned, or a completion racing the request.
 */
export function cancelWins(offered: ProcessAwaitOutput, request: CancelRequest | undefined): ProcessAwaitOutput {
  if (request === undefined) return offered;
  if (offered.type === "cancelled" && offered.reason === request.reason) return offered;
  return cancelledOutcome(request.reason);
}

/** The `cancelled` outcome of a cancel request (`when` e.g. "before it started"). */
export function cancelledOutcome(reason: string | undefined, when = ""): ProcessAwaitOutput {
  const message = `process cancelled${when ? ` ${when}` : ""}${reason ? `: ${reason}` : ""}`;
  return reason === undefined ? { type: "cancelled", message } : { type: "cancelled", message, reason };
}

/** A cancel request's payload as stored on its event or tombstone. */
export function cancelRequestOf(payload: unknown): CancelRequest {
  const reason = (payload as { reason?: unknown } | null)?.reason;
  return typeof reason === "string" ? { reason } : {};
}

/** A cancel recorded before the id was registered applies to a row created before it expired. */
export function tombstoneApplies(expiresAtMs: number, createdAtMs: number): boolean {
  return createdAtMs <= expiresAtMs;
}

export function dispositionOf(stored: ProcessAwaitOutput, offered: ProcessAwaitOutput): CompleteDisposition {
  return canonicalJson(stored) === canonicalJson(offered) ? "already_applied" : "superseded";
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return Limits.pageDefault;
  if (!Number.isInteger(limit) || limit < 1 || limit > Limits.pageMax) {
    throw new LashError("invalid_input", `limit: must be an integer from 1 to ${Limits.pageMax}`, { field: "limit" });
  }
  return limit;
}

export function matchesFilter(record: ProcessRecord, filter: ListFilter): boolean {
  return (
    (filter.status === undefined || record.status === filter.status) &&
    (filter.sessionId === undefined || record.provenance.ownerScope.sessionId === filter.sessionId) &&
    (filter.parentId === undefined || (record.provenance.causedBy?.kind === "process" && record.provenance.causedBy.id === filter.parentId)) &&
    (filter.target === undefined || targetOf(record.input) === filter.target) &&
    (filter.idContains === undefined || record.id.includes(filter.idContains))
  );
}
