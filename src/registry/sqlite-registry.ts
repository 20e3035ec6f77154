import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  CoreEventTypes,
  isTerminalStatus,
  statusOfOutcome,
  terminalEventType,
  type EventAppend,
  type ProcessAwaitOutput,
  type ProcessEvent,
  type ProcessRecord,
  type ProcessRegistrationInput,
} from "../model/index.ts";
import { EventWaiters } from "./event-waiters.ts";
import { GroupCommit } from "./sqlite-group-commit.ts";
import { PRUNE_BATCH, assertAttempt, parsePruneOptions, type PruneOptions, type PruneResult } from "./maintenance-rules.ts";
import { BACKEND_PROFILES, pendingMigrations, processInsertParams } from "./migrations.ts";
import type { CancelRequest, CancelRequestResult, CompleteResult, ListFilter, Page, ProcessRegistry, RegisterOptions, RegisterResult } from "./port.ts";
import {
  assertSameRegistration,
  cancelRequestOf,
  cancelWins,
  tombstoneApplies,
  checkAppend,
  parseAppend,
  dispositionOf,
  newRecord,
  notFound,
  pageLimit,
  parseOutput,
  prepareRegistration,
  replayOf,
  withPayloadCheck,
  sessionCapReached,
  startRunKey,
  type CheckedAppend,
  type PreparedRegistration,
} from "./rules.ts";
import { listQuery, toAppendTarget, toEvent, toPage, toRecord, type AppendTargetRow, type EventRow, type ProcessRow } from "./sqlite-rows.ts";

export interface SqliteRegistryOptions {
  /** How long a writer waits for another connection's write lock (`busy_timeout`). */
  busyTimeoutMs?: number;
  /** How often `waitEventAfter` looks for events appended by other OS processes. */
  pollMs?: number;
}

/** Statement texts; values are always bound, never pasted in. */
const SQL = {
  process: "SELECT * FROM lash_processes WHERE id = ?",
  appendTarget: "SELECT id, status, event_types, registration_hash FROM lash_processes WHERE id = ?",
  exists: "SELECT 1 AS found FROM lash_processes WHERE id = ?",
  insertProcess: `INSERT INTO lash_processes
    (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms, timeout_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  nextSequence: "UPDATE lash_processes SET last_sequence = last_sequence + 1, updated_at_ms = ? WHERE id = ? RETURNING last_sequence",
  insertEvent: "INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key) VALUES (?, ?, ?, ?, ?, ?)",
  setStatus: "UPDATE lash_processes SET status = ?, updated_at_ms = ? WHERE id = ?",
  retry: "UPDATE lash_processes SET attempt = attempt + 1, status = 'pending', updated_at_ms = ? WHERE id = ?",
  setOutcome: "UPDATE lash_processes SET status = ?, outcome = ?, updated_at_ms = ? WHERE id = ?",
  // Terminal events are outside the replay-key index (see migrations.ts); the clause
  // is repeated word for word so the partial index serves the lookup.
  eventByReplayKey: `SELECT * FROM lash_events WHERE process_id = ? AND replay_key = ?
    AND type NOT IN ('process.completed', 'process.failed', 'process.cancelled', 'process.abandoned')`,
  firstOfType: "SELECT * FROM lash_events WHERE process_id = ? AND type = ? ORDER BY sequence LIMIT 1",
  lastOfType: "SELECT * FROM lash_events WHERE process_id = ? AND type = ? ORDER BY sequence DESC LIMIT 1",
  tombstone: "SELECT reason, expires_at_ms FROM lash_cancel_requests WHERE id = ?",
  insertTombstone: "INSERT INTO lash_cancel_requests (id, reason, requested_at_ms, expires_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
  dropExpiredTombstones: "DELETE FROM lash_cancel_requests WHERE expires_at_ms < ?",
  eventsAfter: "SELECT * FROM lash_events WHERE process_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
  firstOfTypeAfter: "SELECT * FROM lash_events WHERE process_id = ? AND type = ? AND sequence > ? ORDER BY sequence LIMIT 1",
  countEvents: "SELECT COUNT(*) AS n FROM lash_events WHERE process_id = ? AND type = ? AND sequence <= ?",
  // Pinned to the partial index (its WHERE clause repeated word for word): an ordered
  // scan that stops at LIMIT. Left alone, the planner picks (status, id) and sorts.
  // Retention: the finished-rows index walked oldest first, keyset-paged by (updated_at_ms, id).
  finishedBefore: `SELECT id, updated_at_ms FROM lash_processes INDEXED BY lash_processes_finished_by_age
    WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned') AND updated_at_ms < ?
    AND (updated_at_ms > ? OR (updated_at_ms = ? AND id > ?)) ORDER BY updated_at_ms, id LIMIT ?`,
  // Events go by the foreign key's ON DELETE CASCADE; the status check keeps a row that came back to life.
  deleteFinished: `DELETE FROM lash_processes WHERE id = ? AND status IN ('completed', 'failed', 'cancelled', 'abandoned')`,
  countLiveInSession:
    "SELECT count(*) AS n FROM (SELECT 1 FROM lash_processes WHERE session_id = ? AND status IN ('queued', 'pending', 'running', 'waiting') LIMIT ?)",
  liveAfter: `SELECT * FROM lash_processes INDEXED BY lash_processes_live_by_id
    WHERE status IN ('queued', 'pending', 'running', 'waiting') AND id > ? ORDER BY id LIMIT ?`,
} as const;

/**
 * Opens (creating it and its parent directories if needed), configures and migrates the
 * registry's database file: one connection, for the registry or the session store.
 * `timeout` is SQLite's busy_timeout, set before anything else touches the file, so a
 * second opener (or writer) waits for the lock instead of failing with SQLITE_BUSY.
 */
export function openSqliteDatabase(path: string, busyTimeoutMs = 5000): DatabaseSync {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  try {
    configure(db);
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * The embedded durable registry, on `node:sqlite`. Several OS processes may share
 * one file: every write runs inside a `BEGIN IMMEDIATE` transaction, which takes SQLite's
 * write lock before reading, so the checks (`rules.ts`) and the sequence counter on
 * the row see the latest committed state and sequences stay gap- and duplicate-free.
 * Concurrent writes of this process share one transaction and one fsync, each in its own
 * savepoint (`GroupCommit`); `node:sqlite` is synchronous, so no other call of this
 * process interleaves inside a write either.
 */
export class SqliteRegistry implements ProcessRegistry {
  readonly kind = "sqlite";
  readonly durabilityTier = "durable" as const;
  /** The database file, or `:memory:`. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #waiters: EventWaiters;
  readonly #commits: GroupCommit;

  /** Opens (creating it and its parent directories if needed) and migrates the database. */
  static open(path: string, opts: SqliteRegistryOptions = {}): SqliteRegistry {
    return new SqliteRegistry(openSqliteDatabase(path, opts.busyTimeoutMs), path, opts);
  }

  /** Use `SqliteRegistry.open`; this takes an already configured and migrated database. */
  constructor(db: DatabaseSync, path: string, opts: SqliteRegistryOptions = {}) {
    this.#db = db;
    this.path = path;
    this.#waiters = new EventWaiters({ pollMs: opts.pollMs ?? 25 });
    this.#commits = new GroupCommit(db);
  }

  async register(input: ProcessRegistrationInput, opts: RegisterOptions = {}): Promise<RegisterResult> {
    const prepared = prepareRegistration(input);
    const id = prepared.registration.id;
    return this.#writeNotifying(id, (): { result: RegisterResult; appended: boolean } => {
      const existing = this.#processRow(id);
      if (existing === undefined) return this.#insertNew(prepared, opts);
      const record = toRecord(existing);
      assertSameRegistration(record, prepared.hash);
      if (opts.startRun === undefined) return { result: { record, created: false }, appended: false };
      const key = startRunKey(opts.startRun, record.attempt);
      if (this.#one<EventRow>(SQL.eventByReplayKey, id, key) !== undefined) return { result: { record, created: false, resumed: true }, appended: false };
      const cancelRequested = isTerminalStatus(record.status) ? undefined : this.#standingCancel(record);
      if (cancelRequested !== undefined) return { result: { record, created: false, cancelRequested }, appended: false };
      const started = this.#start(id, key);
      return { result: { record: started.result, created: false }, appended: started.appended };
    });
  }

  /**
   * Inside a write: the row did not exist. It has no events yet (so no cancel event and no
   * earlier start to look up; only a tombstone can stand), and what it looks like after the
   * start is known without reading it back.
   */
  #insertNew(prepared: PreparedRegistration, opts: RegisterOptions): { result: RegisterResult; appended: boolean } {
    const { id, provenance } = prepared.registration;
    const cap = opts.sessionCap;
    if (cap !== undefined && (this.#one<{ n: number }>(SQL.countLiveInSession, provenance.ownerScope.sessionId, cap)?.n ?? 0) >= cap) {
      throw sessionCapReached(provenance.ownerScope.sessionId, cap);
    }
    const now = Date.now();
    const record = newRecord(prepared, now);
    this.#run(SQL.insertProcess, ...processInsertParams(record));
    if (opts.startRun === undefined) return { result: { record, created: true }, appended: false };
    const cancelRequested = this.#tombstoneCancel(record);
    if (cancelRequested !== undefined) return { result: { record, created: true, cancelRequested }, appended: false };
    this.#insertEvent(id, { type: CoreEventTypes.started, payload: { attempt: record.attempt }, replayKey: startRunKey(opts.startRun, record.attempt) }, now);
    this.#run(SQL.setStatus, "running", now, id);
    return { result: { record: { ...record, status: "running", updatedAtMs: now }, created: true }, appended: true };
  }

  async requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Promise<CancelRequestResult> {
    const payload: Record<string, string> = request.reason === undefined ? {} : { reason: request.reason };
    return this.#writeNotifying(id, (): { result: CancelRequestResult; appended: boolean } => {
      const now = Date.now();
      this.#run(SQL.dropExpiredTombstones, now);
      const row = this.#processRow(id);
      if (row === undefined) {
        this.#run(SQL.insertTombstone, id, request.reason ?? null, now, request.expiresAtMs);
        return { result: { state: "unregistered" }, appended: false };
      }
      if (isTerminalStatus(row.status)) return { result: { state: "terminal" }, appended: false };
      let appended = false;
      if (this.#one<EventRow>(SQL.firstOfType, id, CoreEventTypes.cancelRequested) === undefined) {
        this.#insertEvent(id, { type: CoreEventTypes.cancelRequested, payload, replayKey: request.replayKey }, now);
        appended = true;
      }
      const runKey = this.#one<EventRow>(SQL.lastOfType, id, CoreEventTypes.started)?.replay_key ?? undefined;
      return { result: runKey === undefined ? { state: "live" } : { state: "live", runKey }, appended };
    });
  }

  async dropExpiredCancelRequests(nowMs: number): Promise<number> {
    return this.#write(() => Number(this.#statement(SQL.dropExpiredTombstones).run(nowMs).changes));
  }

  /** Inside a write: the cancel that stands for a row (its event, or an unexpired earlier tombstone). */
  #standingCancel(record: ProcessRecord): CancelRequest | undefined {
    const event = this.#one<EventRow>(SQL.firstOfType, record.id, CoreEventTypes.cancelRequested);
    return event !== undefined ? cancelRequestOf(JSON.parse(event.payload)) : this.#tombstoneCancel(record);
  }

  /** Inside a write: an unexpired cancel recorded for the id before its row existed. */
  #tombstoneCancel(record: ProcessRecord): CancelRequest | undefined {
    const tombstone = this.#one<{ reason: string | null; expires_at_ms: number }>(SQL.tombstone, record.id);
    if (tombstone === undefined || !tombstoneApplies(tombstone.expires_at_ms, record.createdAtMs)) return undefined;
    return tombstone.reason === null ? {} : { reason: tombstone.reason };
  }

  async get(id: string): Promise<ProcessRecord | undefined> {
    const row = this.#processRow(id);
    return row === undefined ? undefined : toRecord(row);
  }

  async markStarted(id: string, replayKey: string): Promise<ProcessRecord> {
    return this.#writeNotifying(id, () => this.#start(id, replayKey));
  }

  /** Inside a write: one `process.started` per replay key on a live row. */
  #start(id: string, replayKey: string): { result: ProcessRecord; appended: boolean } {
    const row = this.#requireProcess(id);
    if (isTerminalStatus(row.status) || this.#one<EventRow>(SQL.eventByReplayKey, id, replayKey) !== undefined) {
      return { result: toRecord(row), appended: false };
    }
    const now = Date.now();
    this.#insertEvent(id, { type: CoreEventTypes.started, payload: { attempt: row.attempt }, replayKey }, now);
    this.#run(SQL.setStatus, "running", now, id);
    return { result: toRecord(this.#requireProcess(id)), appended: true };
  }

  async setStatus(id: string, status: "queued" | "running" | "waiting"): Promise<void> {
    await this.#write(() => {
      const row = this.#requireProcess(id);
      if (!isTerminalStatus(row.status) && row.status !== status) this.#run(SQL.setStatus, status, Date.now(), id);
    });
  }

  async recordRetry(id: string, opts: { fromAttempt?: number } = {}): Promise<ProcessRecord> {
    return this.#write(() => {
      const row = this.#requireProcess(id);
      if (isTerminalStatus(row.status)) return toRecord(row);
      assertAttempt(toRecord(row), opts.fromAttempt);
      this.#run(SQL.retry, Date.now(), id);
      return toRecord(this.#requireProcess(id));
    });
  }

  async appendEvent(id: string, input: EventAppend): Promise<ProcessEvent> {
    return withPayloadCheck((prechecked) => this.#appendOnce(id, input, prechecked));
  }

  #appendOnce(id: string, input: EventAppend, prechecked: string | undefined): Promise<ProcessEvent> {
    return this.#writeNotifying(id, () => {
      const target = this.#one<AppendTargetRow>(SQL.appendTarget, id);
      if (target === undefined) throw notFound(id);
      const append = parseAppend(input);
      const previous = append.replayKey === undefined ? undefined : this.#one<EventRow>(SQL.eventByReplayKey, id, append.replayKey);
      if (previous !== undefined) return { result: replayOf(toEvent(previous), append), appended: false };
      return { result: this.#insertEvent(id, checkAppend(toAppendTarget(target), append, prechecked), Date.now()), appended: true };
    });
  }

  async countEvents(id: string, type: string, upToSequence: number): Promise<number> {
    this.#requireExists(id);
    return this.#one<{ n: number }>(SQL.countEvents, id, type, upToSequence)?.n ?? 0;
  }

  async complete(id: string, output: ProcessAwaitOutput, opts: { replayKey?: string } = {}): Promise<CompleteResult> {
    const parsed = parseOutput(output);
    const writer = opts.replayKey === undefined ? {} : { replayKey: opts.replayKey };
    return this.#writeNotifying(id, () => {
      const row = this.#requireProcess(id);
      if (row.outcome !== null) {
        const stored = JSON.parse(row.outcome) as ProcessAwaitOutput;
        const event = this.#terminalEvent(id, stored);
        return { result: { disposition: dispositionOf(stored, parsed), record: toRecord(row), outcome: stored, event }, appended: false };
      }
      const requested = this.#one<EventRow>(SQL.firstOfType, id, CoreEventTypes.cancelRequested);
      const offered = cancelWins(parsed, requested === undefined ? undefined : cancelRequestOf(JSON.parse(requested.payload)));
      const now = Date.now();
      const event = this.#insertEvent(id, { type: terminalEventType(offered), payload: offered, ...writer }, now);
      this.#run(SQL.setOutcome, statusOfOutcome(offered), JSON.stringify(offered), now, id);
      const record = toRecord(this.#requireProcess(id));
      return { result: { disposition: "applied" as const, record, outcome: offered, event }, appended: true };
    });
  }

  async eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]> {
    this.#requireExists(id);
    return this.#all<EventRow>(SQL.eventsAfter, id, after, pageLimit(limit)).map(toEvent);
  }

  async waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined> {
    this.#requireExists(id);
    return this.#waiters.wait(id, timeoutMs, async () => {
      const row = type === undefined ? this.#one<EventRow>(SQL.eventsAfter, id, after, 1) : this.#one<EventRow>(SQL.firstOfTypeAfter, id, type, after);
      return row === undefined ? undefined : toEvent(row);
    });
  }

  async listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>> {
    const size = pageLimit(limit);
    return toPage(this.#all<ProcessRow>(SQL.liveAfter, cursor ?? "", size), size);
  }

  async list(filter: ListFilter = {}): Promise<Page<ProcessRecord>> {
    const size = pageLimit(filter.limit);
    const { sql, params } = listQuery(filter, size);
    return toPage(this.#all<ProcessRow>(sql, ...params), size, filter.order);
  }

  async countSessionProcesses(sessionId: string, upTo: number): Promise<number> {
    return this.#one<{ n: number }>(SQL.countLiveInSession, sessionId, upTo)?.n ?? 0;
  }

  /** Idempotent. A `waitEventAfter` still pending afterwards rejects at its next poll. */
  async prune(input: PruneOptions): Promise<PruneResult> {
    const { limit, dryRun, cutoffMs } = parsePruneOptions(input);
    const ids: string[] = [];
    let after = { at: Number.MIN_SAFE_INTEGER, id: "" };
    let more = false;
    while (ids.length < limit) {
      const want = Math.min(PRUNE_BATCH, limit - ids.length);
      // One transaction per batch: a short write lock, then other writers get their turn.
      const batch = await this.#write(() => {
        const rows = this.#all<{ id: string; updated_at_ms: number }>(SQL.finishedBefore, cutoffMs, after.at, after.at, after.id, want + 1);
        const taken = rows.slice(0, want);
        if (!dryRun) for (const row of taken) this.#run(SQL.deleteFinished, row.id);
        return { taken, extra: rows.length > want };
      });
      ids.push(...batch.taken.map((r) => r.id));
      const last = batch.taken.at(-1);
      if (last !== undefined) after = { at: last.updated_at_ms, id: last.id };
      if (!batch.extra) break;
      more = ids.length >= limit;
    }
    return { pruned: ids.length, ids, more, cutoffMs };
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    this.#statements.clear();
  }

  /** ONE write: its own savepoint inside a shared `BEGIN IMMEDIATE` transaction (see `GroupCommit`). */
  #write<T>(work: () => T): Promise<T> {
    return this.#commits.run(work);
  }

  /** A write that may append an event: waiters are woken only after the commit. */
  async #writeNotifying<T>(id: string, work: () => { result: T; appended: boolean }): Promise<T> {
    const { result, appended } = await this.#write(work);
    if (appended) this.#waiters.notify(id);
    return result;
  }

  /** Allocates the next sequence from the row's counter (inside the write lock) and inserts the event. */
  #insertEvent(id: string, append: CheckedAppend, now: number): ProcessEvent {
    const counter = this.#one<{ last_sequence: number }>(SQL.nextSequence, now, id);
    if (counter === undefined) throw notFound(id);
    const event: ProcessEvent = { processId: id, sequence: counter.last_sequence, occurredAtMs: now, ...append };
    this.#run(SQL.insertEvent, id, event.sequence, event.type, JSON.stringify(event.payload), now, append.replayKey ?? null);
    return event;
  }

  #terminalEvent(id: string, stored: ProcessAwaitOutput): ProcessEvent {
    const row = this.#one<EventRow>(SQL.firstOfType, id, terminalEventType(stored));
    if (row === undefined) throw new Error(`registry is inconsistent: process "${id}" has an outcome but no terminal event`);
    return toEvent(row);
  }

  #processRow(id: string): ProcessRow | undefined {
    return this.#one<ProcessRow>(SQL.process, id);
  }

  #requireProcess(id: string): ProcessRow {
    const row = this.#processRow(id);
    if (row === undefined) throw notFound(id);
    return row;
  }

  #requireExists(id: string): void {
    if (this.#one(SQL.exists, id) === undefined) throw notFound(id);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #one<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#statement(sql).get(...params) as T | undefined;
  }

  #all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#statement(sql).all(...params) as T[];
  }

  #run(sql: string, ...params: SQLInputValue[]): void {
    this.#statement(sql).run(...params);
  }
}

function configure(db: DatabaseSync): void {
  db.exec("PRAGMA journal_mode = WAL"); // readers never block the writer, nor it them
  db.exec("PRAGMA synchronous = FULL"); // a committed event survives power loss: `durable` means it
  db.exec("PRAGMA foreign_keys = ON");
}

/** Applies pending migrations in one IMMEDIATE transaction, so concurrent openers take turns. */
function migrate(db: DatabaseSync): void {
  const profile = BACKEND_PROFILES.sqlite;
  for (const statement of profile.beginMigration) db.exec(statement);
  try {
    db.exec(profile.versionTable);
    const rows = db.prepare(profile.selectApplied).all() as unknown as { version: number; name: string }[];
    for (const migration of pendingMigrations(new Map(rows.map((r) => [r.version, r.name])))) {
      for (const statement of migration.sqlite) db.exec(statement);
      db.prepare(profile.insertApplied).run(migration.version, migration.name, Date.now());
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
