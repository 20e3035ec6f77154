/**
 * The registry's rules, shared by every adapter: what a valid registration is,
 * which events may be appended, and how a second `complete` is answered.
 * Pure functions over records; adapters call them inside their transactions,
 * except `withPayloadCheck`, which an adapter's `appendEvent` wraps its transaction in.
 */
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
import { checkOffLoop } from "./schema-checker.ts";
import { SchemaCache, evaluate, type SchemaVerdict } from "./schema-eval.ts";
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
  return cached(input, () => screened(parseOrThrow(ProcessRegistration, input, "registration")));
}

/**
 * The same for a registration a handler's serde already parsed with `ProcessRegistration`:
 * screened and hashed, not parsed again. The handler then registers this very object, and
 * `register`'s `prepareRegistration` finds it prepared: one parse and one hash per invocation.
 */
export function prepareParsedRegistration(registration: ProcessRegistration): PreparedRegistration {
  return cached(registration, () => screened(registration));
}

/** Prepared registrations by input object (registration objects are never mutated once parsed). */
const preparedByInput = new WeakMap<object, PreparedRegistration>();

function cached(input: object, prepare: () => PreparedRegistration): PreparedRegistration {
  let prepared = preparedByInput.get(input);
  if (prepared === undefined) {
    prepared = prepare();
    preparedByInput.set(input, prepared);
  }
  return prepared;
}

function screened(registration: ProcessRegistration): PreparedRegistration {
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
 *
 * A payload schema that runs regular expressions is not evaluated here (this runs
 * inside the adapter's write transaction, on the event loop): this throws
 * `OffLoopCheckNeeded` instead, and `withPayloadCheck` evaluates it off the loop and
 * runs the append again with `prechecked` set to the registration hash it checked.
 */
export function checkAppend(record: AppendTarget, event: CheckedAppend, prechecked?: string): CheckedAppend {
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
  if (decl?.payloadSchema !== undefined && prechecked !== record.registrationHash) {
    const key = `${record.registrationHash}/${decl.name}`;
    const schema = payloadSchemas.get(key, decl.payloadSchema);
    if (schema.runsRegexes) throw new OffLoopCheckNeeded(record.registrationHash, key, decl, event.payload);
    assertPayloadVerdict(decl, evaluate(schema.validator(), event.payload));
  }
  return event;
}

/**
 * Runs one append (`attempt`, the adapter's transaction) so that a payload schema with
 * regular expressions is evaluated off the event loop (`schema-checker.ts`), never
 * inside the transaction: the first attempt stops at `checkAppend` with
 * `OffLoopCheckNeeded` (nothing written), the payload is checked in the worker (an
 * invalid or too slow one ends here, as `event_payload_invalid`), and the append runs
 * again with the hash it was checked for; `checkAppend` skips the schema only when the
 * row still has that hash (an id's registration never changes; a pruned and
 * re-registered row has another hash and is checked again).
 *
 * Why not read the row before the transaction instead: that read would cost every
 * append (most schemas have no patterns) a query; this way only appends whose schema
 * runs regular expressions pay a second attempt. Replays and earlier errors (terminal,
 * size, undeclared type) are answered in the first attempt, in their usual order.
 */
export async function withPayloadCheck<T>(attempt: (prechecked: string | undefined) => T | Promise<T>): Promise<T> {
  let prechecked: string | undefined;
  for (let round = 1; ; round++) {
    try {
      return await attempt(prechecked);
    } catch (err) {
      if (!(err instanceof OffLoopCheckNeeded) || round > 3) throw err; // past 3: a registration that keeps changing; retried
      const { registrationHash, key, decl, payload } = err;
      assertPayloadVerdict(decl, await checkOffLoop(key, decl.payloadSchema!, payload));
      prechecked = registrationHash;
    }
  }
}

/** Thrown by `checkAppend` inside a transaction; `withPayloadCheck` catches it (it never reaches a caller). */
class OffLoopCheckNeeded extends Error {
  readonly registrationHash: string;
  /** `<registration hash>/<event type>`: names the schema for the validator caches. */
  readonly key: string;
  readonly decl: EventTypeDecl;
  readonly payload: unknown;

  constructor(registrationHash: string, key: string, decl: EventTypeDecl, payload: unknown) {
    super(`the payloadSchema of "${decl.name}" runs regular expressions: the append must go through withPayloadCheck`);
    this.registrationHash = registrationHash;
    this.key = key;
    this.decl = decl;
    this.payload = payload;
  }
}

const payloadSchemas = new SchemaCache();

function assertPayloadVerdict(decl: EventTypeDecl, verdict: SchemaVerdict): void {
  const schemaOf = `the payloadSchema of "${decl.name}"`;
  switch (verdict.kind) {
    case "valid":
      return;
    case "invalid": {
      const field = verdict.location ? `event.payload.${verdict.location}` : "event.payload";
      throw new LashError("event_payload_invalid", `${field}: ${verdict.error} (schema of "${decl.name}")`, { field });
    }
    case "unevaluable":
      // Registration screens schemas, but a schema the validator still cannot evaluate
      // must give a typed (non-retried) error, not a plain Error on every append.
      throw new LashError("event_payload_invalid", `event.payload: ${schemaOf} cannot be evaluated (${verdict.reason})`, { field: "event.payload" });
    case "timeout":
      throw new LashError(
        "event_payload_invalid",
        `event.payload: ${schemaOf} took longer than ${verdict.limitMs} ms to evaluate against this payload ` +
          "(its regular expressions backtrack on it); simplify its patterns",
        { field: "event.payload" },
      );
    case "busy":
      throw new LashError(
        "unreachable",
        `event.payload: ${schemaOf} could not be checked: slow schema checks ahead of it kept it waiting ${verdict.waitedMs} ms; try again`,
        { field: "event.payload" },
      );
  }
}

/** The replay key `register({ startRun })` marks the row started under, for the row's attempt. */
export function startRunKey(startRun: string | ((attempt: number) => string), attempt: number): string {
  return typeof startRun === "string" ? startRun : startRun(attempt);
}

/** `register({ sessionCap })` refused a new row: its session owns `cap` live processes. */
export function sessionCapReached(sessionId: string, cap: number): LashError {
  return new LashError(
    "resource_limit",
    `session "${sessionId}" already owns ${cap} processes, the cap (LASH_MAX_PROCESSES_PER_SESSION); prune finished ones (lashctl prune) or raise the cap`,
    { field: "registration.provenance.ownerScope.sessionId" },
  );
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
