import { mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { EventAppend, ProcessAwaitOutput, ProcessEvent, ProcessRecord, ProcessRegistrationInput } from "../model/index.ts";
import { EventWaiters } from "./event-waiters.ts";
import { GroupCommit, type WriteOptions } from "./sqlite-group-commit.ts";
import { PRUNE_BATCH, parsePruneOptions, type PruneOptions, type PruneResult } from "./maintenance-rules.ts";
import { BACKEND_PROFILES, pendingMigrations } from "./migrations.ts";
import type { CancelRequest, CancelRequestResult, CompleteResult, ListFilter, Page, ProcessRegistry, RegisterOptions, RegisterResult } from "./port.ts";
import { pageLimit, parseOutput, prepareRegistration, withPayloadCheck } from "./rules.ts";
import * as writes from "./sql-algorithms.ts";
import type { Written, WriteChecks } from "./sql-algorithms.ts";
import { absentResult, all, arityOf, listQuery, one, toPage, type Sql, type StatementDef, type Stmt } from "./sql-statements.ts";
import { SQLITE_LIST, SQLITE_PRUNE, SQLITE_STATEMENTS, toRecord } from "./sqlite-rows.ts";

export interface SqliteRegistryOptions {
  /** How long a writer waits for another connection's write lock (`busy_timeout`). */
  busyTimeoutMs?: number;
  /** How often `waitEventAfter` looks for events appended by other OS processes. */
  pollMs?: number;
}

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
  /** Every statement prepared so far, by its text, with how many parameters it takes. */
  readonly #prepared = new Map<string, { statement: StatementSync; arity: number }>();
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
    this.#commits = new GroupCommit(db, openWal(db, path));
  }

  async register(input: ProcessRegistrationInput, opts: RegisterOptions = {}): Promise<RegisterResult> {
    const prepared = prepareRegistration(input);
    // A run's own start: only the run reads the answer, and a replay registers again (see `RegisterOptions.startRun`).
    const deferSync = opts.startRun !== undefined;
    return this.#writeNotifying(prepared.registration.id, () => writes.register(STORABLE, prepared, opts), { deferSync });
  }

  async requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Promise<CancelRequestResult> {
    return this.#writeNotifying(id, () => writes.requestCancel(id, request));
  }

  async dropExpiredCancelRequests(nowMs: number): Promise<number> {
    return this.#write(() => this.#answer(writes.dropExpiredTombstones(nowMs)));
  }

  async get(id: string): Promise<ProcessRecord | undefined> {
    return this.#answer(one("process", [id]));
  }

  async markAwaited(id: string): Promise<ProcessRecord | undefined> {
    return this.#write(() => this.#answer(writes.markAwaited(id)));
  }

  async markStarted(id: string, replayKey: string): Promise<ProcessRecord> {
    return this.#writeNotifying(id, () => writes.markStarted(id, replayKey));
  }

  async setStatus(id: string, status: "queued" | "running" | "waiting"): Promise<void> {
    await this.#write(() => this.#answer(writes.setStatus(id, status)));
  }

  async recordRetry(id: string, opts: { fromAttempt?: number } = {}): Promise<ProcessRecord> {
    return this.#write(() => this.#answer(writes.recordRetry(id, opts.fromAttempt)));
  }

  async appendEvent(id: string, input: EventAppend): Promise<ProcessEvent> {
    return withPayloadCheck((prechecked) => this.#writeNotifying(id, () => writes.appendOnce(STORABLE, id, input, prechecked)));
  }

  async countEvents(id: string, type: string, upToSequence: number): Promise<number> {
    this.#answer(writes.requireExists(id));
    return this.#answer(one("countEvents", [id, type, upToSequence]))?.n ?? 0;
  }

  async complete(id: string, output: ProcessAwaitOutput, opts: { replayKey?: string } = {}): Promise<CompleteResult> {
    const parsed = parseOutput(output);
    return this.#writeNotifying(id, () => writes.complete(id, parsed, opts.replayKey));
  }

  async eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]> {
    const events = this.#answer(all("eventsAfter", [id, after, pageLimit(limit)]));
    // An event implies its row (ON DELETE CASCADE): only an empty page asks whether the process exists.
    if (events.length === 0) this.#answer(writes.requireExists(id));
    return events;
  }

  async waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined> {
    this.#answer(writes.requireExists(id));
    return this.#waiters.wait(id, timeoutMs, async () =>
      this.#answer(type === undefined ? one("eventsAfter", [id, after, 1]) : one("firstOfTypeAfter", [id, type, after])),
    );
  }

  async listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>> {
    const size = pageLimit(limit);
    return toPage(this.#answer(all("liveAfter", [cursor ?? "", size])), size);
  }

  async list(filter: ListFilter = {}): Promise<Page<ProcessRecord>> {
    const size = pageLimit(filter.limit);
    const { sql, params } = listQuery(SQLITE_LIST, filter, size);
    return toPage(
      this.#statement(sql)
        .all(...params)
        .map(toRecord),
      size,
      filter.order,
    );
  }

  async countSessionProcesses(sessionId: string, upTo: number): Promise<number> {
    return this.#answer(one("countLiveInSession", [sessionId, upTo]))?.n ?? 0;
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
        const rows = this.#statement(SQLITE_PRUNE.finishedBefore).all(cutoffMs, after.at, after.at, after.id, want + 1) as unknown as {
          id: string;
          updated_at_ms: number;
        }[];
        const taken = rows.slice(0, want);
        if (!dryRun) for (const row of taken) this.#statement(SQLITE_PRUNE.deleteFinished).run(row.id);
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
    await this.#commits.close();
    if (this.#db.isOpen) this.#db.close();
    this.#prepared.clear();
  }

  /** ONE write: its own savepoint inside a shared `BEGIN IMMEDIATE` transaction (see `GroupCommit`). */
  #write<T>(work: () => T, opts?: WriteOptions): Promise<T> {
    return this.#commits.run(work, opts);
  }

  /** A write algorithm (`sql-algorithms.ts`), run synchronously inside one; waiters are woken after the commit if it appended. */
  async #writeNotifying<T>(id: string, algorithm: () => Sql<Written<T>>, opts?: WriteOptions): Promise<T> {
    const { result, appended } = await this.#write(() => this.#answer(algorithm()), opts);
    if (appended) this.#waiters.notify(id);
    return result;
  }

  /**
   * Runs an algorithm to its end, answering each statement it yields at once: synchronous,
   * so a write never leaves its transaction (and a read never waits) between statements.
   */
  #answer<T>(algorithm: Sql<T>): T {
    let step = algorithm.next();
    while (step.done !== true) step = algorithm.next(this.#execute(step.value));
    return step.value;
  }

  #execute(stmt: Stmt): unknown {
    const def: StatementDef<unknown> | null = SQLITE_STATEMENTS[stmt.name];
    if (def === null) return absentResult(stmt.mode);
    const prepared = this.#prepare(def.sql);
    const params = (stmt.params.length > prepared.arity ? stmt.params.slice(0, prepared.arity) : stmt.params) as SQLInputValue[];
    switch (stmt.mode) {
      case "one": {
        const row = prepared.statement.get(...params);
        return row === undefined ? undefined : def.decode(row);
      }
      case "all":
        return prepared.statement.all(...params).map((row) => def.decode(row));
      case "run":
        return Number(prepared.statement.run(...params).changes);
    }
  }

  /** A statement built at run time (`list`, retention). */
  #statement(sql: string): StatementSync {
    return this.#prepare(sql).statement;
  }

  /** Prepares each text once. */
  #prepare(sql: string): { statement: StatementSync; arity: number } {
    let prepared = this.#prepared.get(sql);
    if (prepared === undefined) {
      prepared = { statement: this.#db.prepare(sql), arity: arityOf(sql, "?") };
      this.#prepared.set(sql, prepared);
    }
    return prepared;
  }
}

/** SQLite stores any string: nothing to refuse. */
const STORABLE: WriteChecks = { storable: () => {} };

function configure(db: DatabaseSync): void {
  db.exec("PRAGMA journal_mode = WAL"); // readers never block the writer, nor it them
  db.exec("PRAGMA synchronous = FULL"); // a committed event survives power loss: `durable` means it
  db.exec("PRAGMA foreign_keys = ON");
}

/**
 * The connection's WAL file, opened for `GroupCommit` to sync deferred writes, or undefined
 * when the database keeps no WAL (`:memory:`). The file is the one SQLite writes for as long
 * as this connection is open: SQLite deletes a WAL only when its last connection closes.
 */
function openWal(db: DatabaseSync, path: string): number | undefined {
  const { journal_mode } = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
  return journal_mode === "wal" ? openSync(`${path}-wal`, "r") : undefined;
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
