import pg from "pg";
import {
  CoreEventTypes,
  LashError,
  isTerminalStatus,
  statusOfOutcome,
  terminalEventType,
  type EventAppend,
  type ProcessAwaitOutput,
  type ProcessEvent,
  type ProcessRecord,
  type ProcessRegistrationInput,
} from "../model/index.ts";
import { PRUNE_BATCH, assertAttempt, parsePruneOptions, type PruneOptions, type PruneResult } from "./maintenance-rules.ts";
import { BACKEND_PROFILES, pendingMigrations, processInsertParams } from "./migrations.ts";
import type { CancelRequest, CancelRequestResult, CompleteResult, ListFilter, Page, ProcessRegistry, RegisterOptions, RegisterResult } from "./port.ts";
import { parsePostgresUrl, quoteIdent, type PostgresSettings } from "./postgres-config.ts";
import { PgEventNotifier, type NotifierLog } from "./postgres-notifier.ts";
import {
  EVENT_COLUMNS,
  PROCESS_COLUMNS,
  assertStorable,
  listQuery,
  toAppendTarget,
  toEvent,
  toPage,
  toRecord,
  type AppendTargetRow,
  type EventRow,
  type ProcessRow,
} from "./postgres-rows.ts";
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
  sessionCapReached,
  startRunKey,
  withPayloadCheck,
  type CheckedAppend,
} from "./rules.ts";

export interface PostgresRegistryOptions {
  /** Safety re-check of pending `waitEventAfter` calls (default 5000 ms); LISTEN/NOTIFY wakes them first. */
  recheckMs?: number;
  log?: NotifierLog;
}

const LIVE = "status IN ('queued', 'pending', 'running', 'waiting')";

/**
 * Statement texts, sent as named prepared statements (parsed once per connection);
 * values are always bound, never pasted in. Explicit column lists, so a later
 * migration that adds a column cannot change a prepared statement's result shape.
 */
const SQL = {
  process: `SELECT ${PROCESS_COLUMNS} FROM lash_processes WHERE id = $1`,
  // The row lock serializes every write to one process, across connections and OS
  // processes; READ COMMITTED then shows each statement after it the latest commits.
  lockProcess: `SELECT ${PROCESS_COLUMNS} FROM lash_processes WHERE id = $1 FOR NO KEY UPDATE`,
  lockAppendTarget: "SELECT id, status, event_types, registration_hash FROM lash_processes WHERE id = $1 FOR NO KEY UPDATE",
  exists: "SELECT 1 FROM lash_processes WHERE id = $1",
  insertProcess: `INSERT INTO lash_processes
    (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms, timeout_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
  insertProcessUnderCap: `INSERT INTO lash_processes
    (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms, timeout_ms)
    SELECT $1::text, $2::text, $3::jsonb, $4::jsonb, $5::jsonb, $6::text, $7::integer, $8::text, $9::integer, $10::bigint, $11::bigint, $12::bigint
    WHERE (SELECT count(*) FROM (SELECT 1 FROM lash_processes WHERE session_id = $6::text AND ${LIVE} LIMIT $13::integer) AS owned) < $13::integer
    ON CONFLICT (id) DO NOTHING`,
  // One round trip: take the next sequence from the row's counter (the row is already
  // locked by this transaction), insert the event, and queue the NOTIFY, which
  // PostgreSQL delivers only if and when the transaction commits.
  appendEvent: `WITH counter AS (
      UPDATE lash_processes SET last_sequence = last_sequence + 1, updated_at_ms = $2::bigint WHERE id = $1::text RETURNING last_sequence
    ), inserted AS (
      INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key)
      SELECT $1::text, last_sequence, $3::text, $4::jsonb, $2::bigint, $5::text FROM counter RETURNING sequence
    )
    SELECT sequence, pg_notify('lash_events', $6::text) FROM inserted`,
  setStatus: `UPDATE lash_processes SET status = $2, updated_at_ms = $3 WHERE id = $1 AND ${LIVE} AND status <> $2`,
  markRunning: `UPDATE lash_processes SET status = 'running', updated_at_ms = $2 WHERE id = $1 RETURNING ${PROCESS_COLUMNS}`,
  retry: `UPDATE lash_processes SET attempt = attempt + 1, status = 'pending', updated_at_ms = $2
    WHERE id = $1 AND ${LIVE} AND ($3::int IS NULL OR attempt = $3::int) RETURNING ${PROCESS_COLUMNS}`,
  setOutcome: `UPDATE lash_processes SET status = $2, outcome = $3, updated_at_ms = $4 WHERE id = $1 RETURNING ${PROCESS_COLUMNS}`,
  // Terminal events are outside the replay-key index (see migrations.ts); the clause
  // is repeated word for word so the partial index serves the lookup.
  eventByReplayKey: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND replay_key = $2
    AND type NOT IN ('process.completed', 'process.failed', 'process.cancelled', 'process.abandoned')`,
  firstOfType: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND type = $2 ORDER BY sequence LIMIT 1`,
  lastOfType: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND type = $2 ORDER BY sequence DESC LIMIT 1`,
  // Serializes a cancel request with the start of a run of the same id, also while no row exists yet.
  lockCancel: "SELECT pg_advisory_xact_lock(hashtext('lash_cancel:' || $1::text))",
  tombstone: "SELECT reason, expires_at_ms FROM lash_cancel_requests WHERE id = $1",
  insertTombstone: `INSERT INTO lash_cancel_requests (id, reason, requested_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO NOTHING`,
  dropExpiredTombstones: "DELETE FROM lash_cancel_requests WHERE expires_at_ms < $1",
  eventsAfter: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
  firstOfTypeAfter: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND type = $2 AND sequence > $3 ORDER BY sequence LIMIT 1`,
  countEvents: "SELECT COUNT(*) AS n FROM lash_events WHERE process_id = $1 AND type = $2 AND sequence <= $3",
  // Retention, oldest first by (updated_at_ms, id) on the finished-rows index. The delete locks
  // what it takes (SKIP LOCKED: a row another writer holds waits for the next batch) and
  // re-checks the status; events go by the foreign key's ON DELETE CASCADE.
  finishedBefore: `SELECT id, updated_at_ms FROM lash_processes
    WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned') AND updated_at_ms < $1
    AND (updated_at_ms, id) > ($2::bigint, $3::text) ORDER BY updated_at_ms, id LIMIT $4`,
  deleteFinished: `WITH doomed AS (
      SELECT id, updated_at_ms FROM lash_processes
      WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned') AND updated_at_ms < $1
      ORDER BY updated_at_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED
    )
    DELETE FROM lash_processes p USING doomed WHERE p.id = doomed.id RETURNING p.id, p.updated_at_ms`,
  // The partial index's WHERE clause repeated, so the planner can walk it in id order and stop at LIMIT.
  liveAfter: `SELECT ${PROCESS_COLUMNS} FROM lash_processes WHERE ${LIVE} AND id > $1 ORDER BY id LIMIT $2`,
} as const;

type StatementName = keyof typeof SQL;
type Queryable = pg.Pool | pg.PoolClient;

/**
 * The PostgreSQL registry, on `pg`: the same rules and results as the SQLite adapter,
 * for several endpoint processes (on several machines) sharing one database.
 * Every write is one transaction that first locks the process row, so checks and the
 * sequence counter see the latest committed state: sequences stay gap- and
 * duplicate-free with concurrent appenders anywhere. Ids compare bytewise
 * (`COLLATE "C"`), so keyset paging orders like SQLite and the memory adapter.
 */
export class PostgresRegistry implements ProcessRegistry {
  readonly kind = "postgres";
  readonly durabilityTier = "durable" as const;
  /** The schema holding the tables (`?schema=`, else the server's current schema). */
  readonly schema: string;
  readonly poolSize: number;
  readonly #pool: pg.Pool;
  readonly #notifier: PgEventNotifier;
  #closed = false;

  /** Connects, applies pending migrations (serialized across processes), and starts LISTENing. */
  static async open(url: string, opts: PostgresRegistryOptions = {}): Promise<PostgresRegistry> {
    const settings = parsePostgresUrl(url);
    const log = opts.log ?? console;
    const pool = new pg.Pool({ ...connectionConfig(settings, settings.applicationName), max: settings.poolSize });
    // An idle pooled connection that dies emits 'error' on the pool; without a listener
    // that would crash the endpoint. The pool drops the connection and opens a new one.
    pool.on("error", (err) => log.warn(`lash: PostgreSQL registry dropped an idle connection (${err.message})`));
    // A connection that dies while checked out (between a transaction's statements)
    // emits 'error' on its client, which the pool does not listen to then: one
    // listener for the client's whole life. The failing statement rejects and the
    // transaction's caller releases the client as broken; the invocation retries.
    pool.on("connect", (client) => {
      client.on("error", (err) => log.warn(`lash: PostgreSQL registry lost a connection in use (${err.message})`));
    });
    let notifier: PgEventNotifier | undefined;
    try {
      const schema = await migrate(pool, settings.schema);
      notifier = await PgEventNotifier.start({
        client: connectionConfig(settings, `${settings.applicationName} listener`),
        namespace: schema,
        log,
        ...(opts.recheckMs === undefined ? {} : { recheckMs: opts.recheckMs }),
      });
      return new PostgresRegistry(pool, notifier, schema, settings.poolSize);
    } catch (err) {
      await notifier?.close();
      await pool.end().catch(() => {});
      throw openError(err, settings);
    }
  }

  private constructor(pool: pg.Pool, notifier: PgEventNotifier, schema: string, poolSize: number) {
    this.#pool = pool;
    this.#notifier = notifier;
    this.schema = schema;
    this.poolSize = poolSize;
  }

  async register(input: ProcessRegistrationInput, opts: RegisterOptions = {}): Promise<RegisterResult> {
    const registered = await this.#register(input, opts.sessionCap);
    const { startRun } = opts;
    if (startRun === undefined) return registered;
    // PostgreSQL commits off the event loop: the second transaction costs a round trip, not a blocked endpoint.
    const id = registered.record.id;
    return this.#writeNotifying(id, async (db): Promise<{ result: RegisterResult; appended: boolean }> => {
      await this.#run(db, "lockCancel", [id]);
      const row = await this.#lockProcess(db, id);
      const record = toRecord(row);
      const replayKey = startRunKey(startRun, row.attempt);
      assertStorable(replayKey, "replayKey");
      if ((await this.#one<EventRow>(db, "eventByReplayKey", [id, replayKey])) !== undefined) {
        return { result: { record, created: registered.created, resumed: true }, appended: false };
      }
      const cancelRequested = isTerminalStatus(row.status) ? undefined : await this.#standingCancel(db, record);
      if (cancelRequested !== undefined) return { result: { record, created: registered.created, cancelRequested }, appended: false };
      const started = await this.#start(db, row, replayKey);
      return { result: { record: started.result, created: registered.created }, appended: started.appended };
    });
  }

  async requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Promise<CancelRequestResult> {
    assertStorable(request, "request");
    const payload: Record<string, string> = request.reason === undefined ? {} : { reason: request.reason };
    return this.#writeNotifying(id, async (db): Promise<{ result: CancelRequestResult; appended: boolean }> => {
      const now = Date.now();
      await this.#run(db, "lockCancel", [id]);
      await this.#run(db, "dropExpiredTombstones", [now]);
      const row = await this.#one<ProcessRow>(db, "lockProcess", [id]);
      if (row === undefined) {
        await this.#run(db, "insertTombstone", [id, request.reason ?? null, now, request.expiresAtMs]);
        return { result: { state: "unregistered" }, appended: false };
      }
      if (isTerminalStatus(row.status)) return { result: { state: "terminal" }, appended: false };
      let appended = false;
      if ((await this.#one<EventRow>(db, "firstOfType", [id, CoreEventTypes.cancelRequested])) === undefined) {
        await this.#insertEvent(db, id, { type: CoreEventTypes.cancelRequested, payload, replayKey: request.replayKey }, now);
        appended = true;
      }
      const runKey = (await this.#one<EventRow>(db, "lastOfType", [id, CoreEventTypes.started]))?.replay_key ?? undefined;
      return { result: runKey === undefined ? { state: "live" } : { state: "live", runKey }, appended };
    });
  }

  async dropExpiredCancelRequests(nowMs: number): Promise<number> {
    return (await this.#run(this.#pool, "dropExpiredTombstones", [nowMs])).rowCount ?? 0;
  }

  /** Inside a write: the cancel that stands for a row (its event, or an unexpired earlier tombstone). */
  async #standingCancel(db: pg.PoolClient, record: ProcessRecord): Promise<CancelRequest | undefined> {
    const event = await this.#one<EventRow>(db, "firstOfType", [record.id, CoreEventTypes.cancelRequested]);
    if (event !== undefined) return cancelRequestOf(event.payload);
    const tombstone = await this.#one<{ reason: string | null; expires_at_ms: string }>(db, "tombstone", [record.id]);
    if (tombstone === undefined || !tombstoneApplies(Number(tombstone.expires_at_ms), record.createdAtMs)) return undefined;
    return tombstone.reason === null ? {} : { reason: tombstone.reason };
  }

  async #start(db: pg.PoolClient, row: ProcessRow, replayKey: string): Promise<{ result: ProcessRecord; appended: boolean }> {
    const id = row.id;
    if (isTerminalStatus(row.status) || (await this.#one<EventRow>(db, "eventByReplayKey", [id, replayKey])) !== undefined) {
      return { result: toRecord(row), appended: false };
    }
    const now = Date.now();
    await this.#insertEvent(db, id, { type: CoreEventTypes.started, payload: { attempt: row.attempt }, replayKey }, now);
    const running = await this.#one<ProcessRow>(db, "markRunning", [id, now]);
    return { result: toRecord(running!), appended: true };
  }

  async #register(input: ProcessRegistrationInput, sessionCap: number | undefined): Promise<RegisterResult> {
    const prepared = prepareRegistration(input);
    assertStorable(prepared.registration, "registration");
    const record = newRecord(prepared, Date.now());
    // One statement, so one transaction: a concurrent insert of the same id makes it
    // wait for that transaction, then do nothing; the read after it sees that row.
    // Under a session cap the same statement inserts only while the session is under it.
    const inserted =
      sessionCap === undefined
        ? await this.#run(this.#pool, "insertProcess", processInsertParams(record))
        : await this.#run(this.#pool, "insertProcessUnderCap", [...processInsertParams(record), sessionCap]);
    if (inserted.rowCount === 1) return { record, created: true };
    const existing = await this.#processRow(this.#pool, record.id);
    if (existing === undefined && sessionCap !== undefined) throw sessionCapReached(prepared.registration.provenance.ownerScope.sessionId, sessionCap);
    if (existing === undefined) throw new Error(`registry is inconsistent: process "${record.id}" neither inserted nor found`);
    const stored = toRecord(existing);
    assertSameRegistration(stored, prepared.hash);
    return { record: stored, created: false };
  }

  async get(id: string): Promise<ProcessRecord | undefined> {
    const row = await this.#processRow(this.#pool, id);
    return row === undefined ? undefined : toRecord(row);
  }

  async markStarted(id: string, replayKey: string): Promise<ProcessRecord> {
    assertStorable(replayKey, "replayKey");
    return this.#writeNotifying(id, async (db) => this.#start(db, await this.#lockProcess(db, id), replayKey));
  }

  async setStatus(id: string, status: "queued" | "running" | "waiting"): Promise<void> {
    const updated = await this.#run(this.#pool, "setStatus", [id, status, Date.now()]);
    if (updated.rowCount === 0) await this.#requireExists(id); // terminal or unchanged: a no-op, unless unknown
  }

  async recordRetry(id: string, opts: { fromAttempt?: number } = {}): Promise<ProcessRecord> {
    // One statement: the attempt check and the bump cannot interleave with another sweeper's.
    const retried = await this.#one<ProcessRow>(this.#pool, "retry", [id, Date.now(), opts.fromAttempt ?? null]);
    if (retried !== undefined) return toRecord(retried);
    const row = await this.#processRow(this.#pool, id); // terminal rows are returned unchanged
    if (row === undefined) throw notFound(id);
    const record = toRecord(row);
    if (!isTerminalStatus(record.status)) assertAttempt(record, opts.fromAttempt);
    return record;
  }

  async appendEvent(id: string, input: EventAppend): Promise<ProcessEvent> {
    return withPayloadCheck((prechecked) => this.#appendOnce(id, input, prechecked));
  }

  async #appendOnce(id: string, input: EventAppend, prechecked: string | undefined): Promise<ProcessEvent> {
    return this.#writeNotifying(id, async (db) => {
      const target = await this.#one<AppendTargetRow>(db, "lockAppendTarget", [id]);
      if (target === undefined) throw notFound(id);
      const append = parseAppend(input);
      // Before the replay lookup: a NUL in the replay key would fail that query with a
      // server error (retried forever); and an unstorable append was never stored, so it
      // cannot be a replay.
      assertStorable(append, "event");
      const previous = append.replayKey === undefined ? undefined : await this.#one<EventRow>(db, "eventByReplayKey", [id, append.replayKey]);
      if (previous !== undefined) return { result: replayOf(toEvent(previous), append), appended: false };
      checkAppend(toAppendTarget(target), append, prechecked);
      return { result: await this.#insertEvent(db, id, append, Date.now()), appended: true };
    });
  }

  async countEvents(id: string, type: string, upToSequence: number): Promise<number> {
    await this.#requireExists(id);
    const row = await this.#one<{ n: string }>(this.#pool, "countEvents", [id, type, upToSequence]);
    return Number(row?.n ?? 0);
  }

  async complete(id: string, output: ProcessAwaitOutput, opts: { replayKey?: string } = {}): Promise<CompleteResult> {
    const parsed = parseOutput(output);
    assertStorable(parsed, "output");
    assertStorable(opts.replayKey, "opts.replayKey");
    const writer = opts.replayKey === undefined ? {} : { replayKey: opts.replayKey };
    return this.#writeNotifying(id, async (db) => {
      const row = await this.#lockProcess(db, id);
      if (row.outcome !== null) {
        const stored = row.outcome;
        const event = await this.#terminalEvent(db, id, stored);
        return { result: { disposition: dispositionOf(stored, parsed), record: toRecord(row), outcome: stored, event }, appended: false };
      }
      const requested = await this.#one<EventRow>(db, "firstOfType", [id, CoreEventTypes.cancelRequested]);
      const offered = cancelWins(parsed, requested === undefined ? undefined : cancelRequestOf(requested.payload));
      const now = Date.now();
      const event = await this.#insertEvent(db, id, { type: terminalEventType(offered), payload: offered, ...writer }, now);
      const updated = await this.#one<ProcessRow>(db, "setOutcome", [id, statusOfOutcome(offered), JSON.stringify(offered), now]);
      return { result: { disposition: "applied" as const, record: toRecord(updated!), outcome: offered, event }, appended: true };
    });
  }

  async eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]> {
    const size = pageLimit(limit);
    await this.#requireExists(id);
    return (await this.#all<EventRow>(this.#pool, "eventsAfter", [id, after, size])).map(toEvent);
  }

  async waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined> {
    await this.#requireExists(id);
    return this.#notifier.wait(id, timeoutMs, async () => {
      const row =
        type === undefined
          ? await this.#one<EventRow>(this.#pool, "eventsAfter", [id, after, 1])
          : await this.#one<EventRow>(this.#pool, "firstOfTypeAfter", [id, type, after]);
      return row === undefined ? undefined : toEvent(row);
    });
  }

  async listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>> {
    const size = pageLimit(limit);
    return toPage(await this.#all<ProcessRow>(this.#pool, "liveAfter", [cursor ?? "", size]), size);
  }

  async list(filter: ListFilter = {}): Promise<Page<ProcessRecord>> {
    const size = pageLimit(filter.limit);
    const query = listQuery(filter, size);
    return toPage((await this.#query<ProcessRow>(this.#pool, query)).rows, size, filter.order);
  }

  async prune(input: PruneOptions): Promise<PruneResult> {
    const { limit, dryRun, cutoffMs } = parsePruneOptions(input);
    const ids: string[] = [];
    let after = { at: Number.MIN_SAFE_INTEGER, id: "" };
    let more = false;
    while (ids.length < limit) {
      const want = Math.min(PRUNE_BATCH, limit - ids.length);
      // Each batch is its own statement, so its own short transaction.
      const rows = dryRun
        ? await this.#all<{ id: string; updated_at_ms: string }>(this.#pool, "finishedBefore", [cutoffMs, after.at, after.id, want])
        : await this.#all<{ id: string; updated_at_ms: string }>(this.#pool, "deleteFinished", [cutoffMs, want]);
      rows.sort((a, b) => Number(a.updated_at_ms) - Number(b.updated_at_ms) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      ids.push(...rows.map((r) => r.id));
      const last = rows.at(-1);
      if (last !== undefined) after = { at: Number(last.updated_at_ms), id: last.id };
      if (rows.length < want) break;
      if (ids.length >= limit) {
        const next = await this.#all<{ id: string }>(this.#pool, "finishedBefore", [
          cutoffMs,
          dryRun ? after.at : Number.MIN_SAFE_INTEGER,
          dryRun ? after.id : "",
          1,
        ]);
        more = next.length > 0;
      }
    }
    return { pruned: ids.length, ids, more, cutoffMs };
  }

  async countSessionProcesses(sessionId: string, upTo: number): Promise<number> {
    const text =
      "SELECT count(*) AS n FROM (SELECT 1 FROM lash_processes WHERE session_id = $1 AND status IN ('queued', 'pending', 'running', 'waiting') LIMIT $2) AS owned";
    const row = (await this.#query<{ n: string }>(this.#pool, { text, values: [sessionId, upTo] })).rows[0];
    return Number(row?.n ?? 0);
  }

  /** Idempotent. Pending `waitEventAfter` calls reject; later calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#notifier.close();
    await this.#pool.end();
  }

  /** ONE transaction on one pooled connection: COMMIT on success, ROLLBACK on any error. */
  async #write<T>(work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const db = await this.#pool.connect();
    let broken = false;
    try {
      await db.query("BEGIN");
      const result = await work(db);
      await db.query("COMMIT");
      return result;
    } catch (err) {
      // A failed ROLLBACK means the connection itself is gone: drop it from the pool.
      await db.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      db.release(broken);
    }
  }

  /** A write that may append an event: local waiters are woken after the commit (others by NOTIFY). */
  async #writeNotifying<T>(id: string, work: (db: pg.PoolClient) => Promise<{ result: T; appended: boolean }>): Promise<T> {
    const { result, appended } = await this.#write(work);
    if (appended) this.#notifier.wake(id);
    return result;
  }

  async #insertEvent(db: pg.PoolClient, id: string, append: CheckedAppend, now: number): Promise<ProcessEvent> {
    const params = [id, now, append.type, JSON.stringify(append.payload), append.replayKey ?? null, this.#notifier.payloadFor(id)];
    const inserted = await this.#one<{ sequence: string }>(db, "appendEvent", params);
    if (inserted === undefined) throw notFound(id);
    return { processId: id, sequence: Number(inserted.sequence), occurredAtMs: now, ...append };
  }

  async #terminalEvent(db: pg.PoolClient, id: string, stored: ProcessAwaitOutput): Promise<ProcessEvent> {
    const row = await this.#one<EventRow>(db, "firstOfType", [id, terminalEventType(stored)]);
    if (row === undefined) throw new Error(`registry is inconsistent: process "${id}" has an outcome but no terminal event`);
    return toEvent(row);
  }

  async #processRow(db: Queryable, id: string): Promise<ProcessRow | undefined> {
    return this.#one<ProcessRow>(db, "process", [id]);
  }

  async #lockProcess(db: pg.PoolClient, id: string): Promise<ProcessRow> {
    const row = await this.#one<ProcessRow>(db, "lockProcess", [id]);
    if (row === undefined) throw notFound(id);
    return row;
  }

  async #requireExists(id: string): Promise<void> {
    if ((await this.#run(this.#pool, "exists", [id])).rowCount === 0) throw notFound(id);
  }

  async #one<T extends pg.QueryResultRow>(db: Queryable, name: StatementName, values: unknown[]): Promise<T | undefined> {
    return (await this.#run<T>(db, name, values)).rows[0];
  }

  async #all<T extends pg.QueryResultRow>(db: Queryable, name: StatementName, values: unknown[]): Promise<T[]> {
    return (await this.#run<T>(db, name, values)).rows;
  }

  #run<T extends pg.QueryResultRow>(db: Queryable, name: StatementName, values: unknown[]): Promise<pg.QueryResult<T>> {
    return this.#query<T>(db, { name: `lash_${name}`, text: SQL[name], values });
  }

  async #query<T extends pg.QueryResultRow>(db: Queryable, query: pg.QueryConfig): Promise<pg.QueryResult<T>> {
    if (this.#closed) throw new Error("the PostgreSQL registry is closed");
    // TEXT cannot hold NUL: the server would answer with an error that looks transient
    // (and a Restate step would retry it forever). Writes name the field earlier
    // (assertStorable); this catches any other text parameter, e.g. a lookup key.
    if (query.values?.some((v) => typeof v === "string" && v.includes("\u0000"))) {
      throw new LashError("invalid_input", "a NUL character (\\u0000) cannot be stored in or looked up from the PostgreSQL registry");
    }
    return db.query<T>(query);
  }
}

/** Settings shared by the pool and the LISTEN session. */
export function connectionConfig(settings: PostgresSettings, applicationName: string): pg.ClientConfig {
  return {
    connectionString: settings.connectionString,
    application_name: applicationName,
    options: settings.sessionOptions,
    // Fail (and let Restate retry) rather than hang when the server does not answer.
    connectionTimeoutMillis: 30_000,
    keepAlive: true,
  };
}

/**
 * Applies pending migrations in one transaction under a transaction-scoped advisory
 * lock (see `BACKEND_PROFILES.postgres`), so processes opening the registry at the
 * same moment take turns; the schema is created under the same lock. Returns the
 * schema the tables live in.
 */
export async function migrate(pool: pg.Pool, schema: string | undefined): Promise<string> {
  const profile = BACKEND_PROFILES.postgres;
  const db = await pool.connect();
  let broken = false;
  try {
    for (const statement of profile.beginMigration) await db.query(statement);
    if (schema !== undefined) await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await db.query(profile.versionTable);
    const rows = (await db.query<{ version: number; name: string }>(profile.selectApplied)).rows;
    for (const migration of pendingMigrations(new Map(rows.map((r) => [r.version, r.name])))) {
      for (const statement of migration.postgres) await db.query(statement);
      await db.query(profile.insertApplied, [migration.version, migration.name, Date.now()]);
    }
    const current = (await db.query<{ schema: string | null }>("SELECT current_schema() AS schema")).rows[0]?.schema;
    await db.query("COMMIT");
    return current ?? "";
  } catch (err) {
    await db.query("ROLLBACK").catch(() => (broken = true));
    throw err;
  } finally {
    db.release(broken);
  }
}

/** Names where the registry tried to connect, never the URL (it may carry a password). */
export function openError(err: unknown, settings: PostgresSettings): Error {
  if (err instanceof LashError) return err;
  const target = new URL(settings.connectionString);
  const where = `${target.hostname || "localhost"}:${target.port || "5432"}${target.pathname}`;
  const why = err instanceof Error ? err.message : String(err);
  return new Error(`cannot open the PostgreSQL registry at ${where}${settings.schema ? ` (schema ${settings.schema})` : ""}: ${why}`, { cause: err });
}
