/**
 * The SQL registry's algorithms, written once for SQLite and PostgreSQL: each write is a
 * generator that yields named statements (`sql-statements.ts`) and receives their
 * decoded rows; the adapter's driver runs it (SQLite synchronously inside its group
 * commit, PostgreSQL awaiting each statement inside one transaction). An algorithm
 * returns `{ result, appended }`: `appended` tells the adapter to wake event waiters
 * once the write committed.
 *
 * What a dialect does beyond the algorithm is a statement the algorithm asks for by name:
 * PostgreSQL's advisory `lockCancel`, also taken inside its `insertProcess` (SQLite leaves
 * it out: its write lock already serializes every write), SQLite's `insertEvent` after its
 * `appendEvent` (PostgreSQL's `appendEvent` writes the counter and the event row in one
 * statement), and the reads PostgreSQL folds into the statement that takes the row lock
 * (`LockedProcess.fresh`). PostgreSQL's NOTIFY is not a statement here: the adapter sends it
 * after the commit (postgres-notifier.ts).
 * Both dialects start a new row inside `insertProcess` and apply an unopposed outcome with
 * `completeUnopposed`; PostgreSQL writes the event row in that same statement, SQLite in the
 * `insertEvent` the algorithm asks for next (absent, so a no-op, for PostgreSQL).
 *
 * The rules these follow (what is valid, who wins) stay in `rules.ts`, shared with the
 * memory adapter.
 */
import {
  CoreEventTypes,
  isTerminalStatus,
  statusOfOutcome,
  terminalEventType,
  type EventAppend,
  type ProcessAwaitOutput,
  type ProcessEvent,
  type ProcessRecord,
  type ProcessStatus,
} from "../model/index.ts";
import { assertAttempt } from "./maintenance-rules.ts";
import { processInsertParams } from "./migrations.ts";
import type { CancelRequest, CancelRequestResult, CompleteResult, RegisterOptions, RegisterResult } from "./port.ts";
import {
  assertSameRegistration,
  cancelRequestOf,
  cancelWins,
  checkAppend,
  dispositionOf,
  newRecord,
  notFound,
  parseAppend,
  replayOf,
  sessionCapReached,
  startRunKey,
  tombstoneApplies,
  type CheckedAppend,
  type PreparedRegistration,
} from "./rules.ts";
import { one, run, type AppendParams, type LockedProcess, type Sql, type Tombstone } from "./sql-statements.ts";

/** A write's answer, and whether it appended an event (waiters are woken after the commit). */
export interface Written<T> {
  result: T;
  appended: boolean;
}

/** What differs between dialects beyond statements. */
export interface WriteChecks {
  /** Refuses a value the dialect cannot store, naming `field` (PostgreSQL: NUL, unpaired surrogates). */
  storable(value: unknown, field: string): void;
}

/**
 * `register`: a new row is inserted (under the session cap) and, with `startRun`, started in
 * the same write unless a cancel stands; an existing row must have the same content.
 */
export function* register(checks: WriteChecks, prepared: PreparedRegistration, opts: RegisterOptions): Sql<Written<RegisterResult>> {
  const { id } = prepared.registration;
  const { startRun } = opts;
  const record = newRecord(prepared, Date.now());
  // The start a new row gets (its attempt is 1), offered to a dialect that inserts and starts in one statement.
  const firstStart =
    startRun === undefined
      ? undefined
      : { type: CoreEventTypes.started, payload: { attempt: record.attempt }, replayKey: startRunKey(startRun, record.attempt) };
  if (firstStart !== undefined) checks.storable(firstStart.replayKey, "replayKey");
  // `insertProcess` serializes with a cancel request for this id where the dialect needs it
  // (PostgreSQL takes the cancel lock inside it; SQLite's write lock serializes every write):
  // a cancel request either committed before (its tombstone is seen) or sees this `process.started`.
  const inserted = yield* one("insertProcess", [
    ...processInsertParams(record),
    opts.sessionCap ?? null,
    firstStart?.type ?? null,
    firstStart === undefined ? null : JSON.stringify(firstStart.payload),
    firstStart?.replayKey ?? null,
  ]);
  if (inserted !== undefined) {
    if (firstStart === undefined) return { result: { record, created: true }, appended: false };
    const running = { ...record, status: "running" as const, updatedAtMs: record.createdAtMs };
    if (inserted.started) {
      // The statement took sequence 1 for the start; SQLite writes the event row now (PostgreSQL's statement did).
      yield* run("insertEvent", [...appendParams(id, firstStart, record.createdAtMs, "running"), 1]);
      return { result: { record: running, created: true }, appended: true };
    }
    // A new row has no events (no cancel event, no earlier start): only a tombstone can stand.
    const cancelRequested = tombstoneCancel(inserted.tombstone, record.createdAtMs);
    if (cancelRequested !== undefined) return { result: { record, created: true, cancelRequested }, appended: false };
    throw new Error(`registry is inconsistent: new process "${id}" was neither started nor held back by a cancel request`);
  }
  // Not inserted: the id exists, or its session is at the cap.
  if (startRun === undefined) {
    const existing = yield* one("process", [id]);
    if (existing === undefined) throw notInserted(prepared, opts.sessionCap);
    assertSameRegistration(existing, prepared.hash);
    return { result: { record: existing, created: false }, appended: false };
  }
  const locked = yield* one("lockProcess", [id]);
  if (locked === undefined) throw notInserted(prepared, opts.sessionCap);
  const existing = locked.record;
  assertSameRegistration(existing, prepared.hash);
  const replayKey = startRunKey(startRun, existing.attempt);
  checks.storable(replayKey, "replayKey");
  // Started under this very key before: a replay of the same run, which must take the first try's path.
  if ((yield* one("eventByReplayKey", [id, replayKey])) !== undefined) return { result: { record: existing, created: false, resumed: true }, appended: false };
  if (isTerminalStatus(existing.status)) return { result: { record: existing, created: false }, appended: false };
  const cancelRequested = yield* standingCancel(locked);
  if (cancelRequested !== undefined) return { result: { record: existing, created: false, cancelRequested }, appended: false };
  return { result: { record: yield* appendStart(existing, replayKey), created: false }, appended: true };
}

function notInserted(prepared: PreparedRegistration, sessionCap: number | undefined): Error {
  const { id, provenance } = prepared.registration;
  if (sessionCap !== undefined) return sessionCapReached(provenance.ownerScope.sessionId, sessionCap);
  return new Error(`registry is inconsistent: process "${id}" neither inserted nor found`);
}

/** `markStarted`: one `process.started` per replay key on a live row. */
export function* markStarted(id: string, replayKey: string): Sql<Written<ProcessRecord>> {
  const locked = yield* one("lockProcess", [id]);
  if (locked === undefined) throw notFound(id);
  return yield* start(locked.record, replayKey);
}

/** Inside a write, on a locked row: status `running` and a `process.started`, unless terminal or already started under this key. */
function* start(record: ProcessRecord, replayKey: string): Sql<Written<ProcessRecord>> {
  if (isTerminalStatus(record.status) || (yield* one("eventByReplayKey", [record.id, replayKey])) !== undefined) {
    return { result: record, appended: false };
  }
  return { result: yield* appendStart(record, replayKey), appended: true };
}

/** The `process.started` itself, on a live row not yet started under `replayKey`. */
function* appendStart(record: ProcessRecord, replayKey: string): Sql<ProcessRecord> {
  const now = Date.now();
  yield* appendEvent(record.id, { type: CoreEventTypes.started, payload: { attempt: record.attempt }, replayKey }, now, "running");
  return { ...record, status: "running", updatedAtMs: now };
}

/** The cancel that stands for a locked live row: its cancel event, or an unexpired tombstone older than the row. */
function* standingCancel(locked: LockedProcess): Sql<CancelRequest | undefined> {
  const event = yield* cancelEventPayload(locked);
  if (event !== undefined) return cancelRequestOf(event);
  return tombstoneCancel(yield* one("tombstone", [locked.record.id]), locked.record.createdAtMs);
}

/** The payload of the row's first cancel request, read again when the lock statement's read may predate the lock. */
function* cancelEventPayload(locked: LockedProcess): Sql<unknown> {
  if (locked.fresh) return locked.cancelPayload;
  return (yield* one("firstOfType", [locked.record.id, CoreEventTypes.cancelRequested]))?.payload;
}

function tombstoneCancel(tombstone: Tombstone | undefined, createdAtMs: number): CancelRequest | undefined {
  if (tombstone === undefined || !tombstoneApplies(tombstone.expiresAtMs, createdAtMs)) return undefined;
  return tombstone.reason === null ? {} : { reason: tombstone.reason };
}

/** `requestCancel`: see `CancelRequestResult`. */
export function* requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Sql<Written<CancelRequestResult>> {
  const payload: Record<string, string> = request.reason === undefined ? {} : { reason: request.reason };
  yield* run("lockCancel", [id]);
  const now = Date.now();
  yield* run("dropExpiredTombstones", [now]);
  const locked = yield* one("lockProcess", [id]);
  if (locked === undefined) {
    yield* run("insertTombstone", [id, request.reason ?? null, now, request.expiresAtMs]);
    return { result: { state: "unregistered" }, appended: false };
  }
  if (isTerminalStatus(locked.record.status)) return { result: { state: "terminal" }, appended: false };
  let appended = false;
  if ((yield* cancelEventPayload(locked)) === undefined) {
    yield* appendEvent(id, { type: CoreEventTypes.cancelRequested, payload, replayKey: request.replayKey }, now);
    appended = true;
  }
  const runKey = (yield* one("lastOfType", [id, CoreEventTypes.started]))?.replayKey;
  return { result: runKey === undefined ? { state: "live" } : { state: "live", runKey }, appended };
}

/** `setStatus`: one conditional update; a row it did not change is terminal, unchanged, or unknown. */
export function* setStatus(id: string, status: "queued" | "running" | "waiting"): Sql<void> {
  if ((yield* run("setStatus", [id, status, Date.now()])) === 0) yield* requireExists(id);
}

/** `recordRetry`: one compare-and-set statement; a row it left alone is terminal (returned as is), stale, or unknown. */
export function* recordRetry(id: string, fromAttempt: number | undefined): Sql<ProcessRecord> {
  const retried = yield* one("retry", [id, Date.now(), fromAttempt ?? null]);
  if (retried !== undefined) return retried;
  const record = yield* one("process", [id]);
  if (record === undefined) throw notFound(id);
  if (!isTerminalStatus(record.status)) assertAttempt(record, fromAttempt);
  return record;
}

/** One attempt of `appendEvent` (see `withPayloadCheck` in rules.ts for `prechecked`). */
export function* appendOnce(checks: WriteChecks, id: string, input: EventAppend, prechecked: string | undefined): Sql<Written<ProcessEvent>> {
  const target = yield* one("lockAppendTarget", [id]);
  if (target === undefined) throw notFound(id);
  const append = parseAppend(input);
  // Before the replay lookup: an unstorable append was never stored, so it cannot be a replay.
  checks.storable(append, "event");
  const previous = append.replayKey === undefined ? undefined : yield* one("eventByReplayKey", [id, append.replayKey]);
  if (previous !== undefined) return { result: replayOf(previous, append), appended: false };
  return { result: yield* appendEvent(id, checkAppend(target, append, prechecked), Date.now()), appended: true };
}

/** `complete`: the terminal event and outcome, exactly once; a standing cancel wins (`cancelWins`). */
export function* complete(id: string, parsed: ProcessAwaitOutput, replayKey: string | undefined): Sql<Written<CompleteResult>> {
  const writer = replayKey === undefined ? {} : { replayKey };
  // The common case, nothing opposes the outcome: one statement (PostgreSQL) or the row, then its event (SQLite).
  const now = Date.now();
  const terminal: CheckedAppend = { type: terminalEventType(parsed), payload: parsed, ...writer };
  const params = appendParams(id, terminal, now, statusOfOutcome(parsed), parsed);
  const unopposed = yield* one("completeUnopposed", params);
  if (unopposed !== undefined) {
    yield* run("insertEvent", [...params, unopposed.sequence]);
    const event: ProcessEvent = { processId: id, sequence: unopposed.sequence, occurredAtMs: now, ...terminal };
    return { result: { disposition: "applied", record: unopposed.record, outcome: parsed, event, awaited: unopposed.awaited }, appended: true };
  }
  const locked = yield* one("lockProcess", [id]);
  if (locked === undefined) throw notFound(id);
  const { record } = locked;
  if (record.outcome !== undefined) {
    const stored = record.outcome;
    const event = yield* one("firstOfType", [id, terminalEventType(stored)]);
    if (event === undefined) throw new Error(`registry is inconsistent: process "${id}" has an outcome but no terminal event`);
    return { result: { disposition: dispositionOf(stored, parsed), record, outcome: stored, event, awaited: locked.awaited }, appended: false };
  }
  const requested = yield* cancelEventPayload(locked);
  const offered = cancelWins(parsed, requested === undefined ? undefined : cancelRequestOf(requested));
  const at = Date.now();
  const status = statusOfOutcome(offered);
  const event = yield* appendEvent(id, { type: terminalEventType(offered), payload: offered, ...writer }, at, status, offered);
  return {
    result: { disposition: "applied", record: { ...record, status, outcome: offered, updatedAtMs: at }, outcome: offered, event, awaited: locked.awaited },
    appended: true,
  };
}

/** `markAwaited`: the mark (a live row only), then the row as it is now. */
export function* markAwaited(id: string): Sql<ProcessRecord | undefined> {
  yield* run("markAwaited", [id]);
  return yield* one("process", [id]);
}

/** `dropExpiredCancelRequests`. */
export function* dropExpiredTombstones(nowMs: number): Sql<number> {
  return yield* run("dropExpiredTombstones", [nowMs]);
}

/** Inside a write on a locked row: the event under the row's next sequence, and the row's status/outcome when given. */
function* appendEvent(id: string, append: CheckedAppend, now: number, status?: ProcessStatus, outcome?: ProcessAwaitOutput): Sql<ProcessEvent> {
  const params = appendParams(id, append, now, status, outcome);
  const inserted = yield* one("appendEvent", params);
  if (inserted === undefined) throw notFound(id);
  yield* run("insertEvent", [...params, inserted.sequence]);
  return { processId: id, sequence: inserted.sequence, occurredAtMs: now, ...append };
}

function appendParams(id: string, append: CheckedAppend, now: number, status?: ProcessStatus, outcome?: ProcessAwaitOutput): AppendParams {
  return [
    id,
    now,
    append.type,
    JSON.stringify(append.payload),
    append.replayKey ?? null,
    status ?? null,
    outcome === undefined ? null : JSON.stringify(outcome),
  ];
}

/** Reads of more than one statement, shared the same way. */
export function* requireExists(id: string): Sql<void> {
  if ((yield* one("exists", [id])) === undefined) throw notFound(id);
}
