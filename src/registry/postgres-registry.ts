import pg from "pg";
import { LashError, type EventAppend, type ProcessAwaitOutput, type ProcessEvent, type ProcessRecord, type ProcessRegistrationInput } from "../model/index.ts";
import { PRUNE_BATCH, parsePruneOptions, type PruneOptions, type PruneResult } from "./maintenance-rules.ts";
import { BACKEND_PROFILES, pendingMigrations } from "./migrations.ts";
import type { CancelRequest, CancelRequestResult, CompleteResult, ListFilter, Page, ProcessRegistry, RegisterOptions, RegisterResult } from "./port.ts";
import { parsePostgresUrl, quoteIdent, type PostgresSettings } from "./postgres-config.ts";
import { PgGroupCommit } from "./postgres-group-commit.ts";
import { PgEventNotifier, sendNotifications, type NotifierLog } from "./postgres-notifier.ts";
import { POSTGRES_LIST, POSTGRES_PRUNE, POSTGRES_STATEMENTS, assertStorable, toRecord } from "./postgres-rows.ts";
import { pageLimit, parseOutput, prepareRegistration, withPayloadCheck } from "./rules.ts";
import * as writes from "./sql-algorithms.ts";
import type { Written, WriteChecks } from "./sql-algorithms.ts";
import { absentResult, all, listQuery, one, toPage, type Sql, type StatementDef, type Stmt } from "./sql-statements.ts";

export interface PostgresRegistryOptions {
  /** Safety re-check of pending `waitEventAfter` calls (default 5000 ms); LISTEN/NOTIFY wakes them first. */
  recheckMs?: number;
  log?: NotifierLog;
}

type Queryable = pg.Pool | pg.PoolClient;

/** What PostgreSQL cannot store is refused before it is sent (see postgres-rows.ts). */
const STORABLE: WriteChecks = { storable: assertStorable };

/**
 * The PostgreSQL registry, on `pg`: the same rules and results as the SQLite adapter,
 * for several endpoint processes (on several machines) sharing one database.
 * A write that checks before it writes is one transaction that first locks the process
 * row, so checks and the sequence counter see the latest committed state: sequences stay
 * gap- and duplicate-free with concurrent appenders anywhere. A write that is one
 * statement (its checks inside it) joins the group commit of its event-loop turn. Ids
 * compare bytewise (`COLLATE "C"`), so keyset paging orders like SQLite and the memory
 * adapter.
 */
export class PostgresRegistry implements ProcessRegistry {
  readonly kind = "postgres";
  readonly durabilityTier = "durable" as const;
  /** The schema holding the tables (`?schema=`, else the server's current schema). */
  readonly schema: string;
  readonly poolSize: number;
  readonly #pool: pg.Pool;
  readonly #notifier: PgEventNotifier;
  readonly #commits: PgGroupCommit;
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
        send: (payloads) => sendNotifications(pool, payloads),
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
    this.#commits = new PgGroupCommit(pool, (db, stmt, def) => this.#execute(db, stmt, def));
    this.schema = schema;
    this.poolSize = poolSize;
  }

  async register(input: ProcessRegistrationInput, opts: RegisterOptions = {}): Promise<RegisterResult> {
    const prepared = prepareRegistration(input);
    assertStorable(prepared.registration, "registration");
    return this.#writeNotifying(prepared.registration.id, writes.register(STORABLE, prepared, opts));
  }

  async requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Promise<CancelRequestResult> {
    assertStorable(request, "request");
    return this.#writeNotifying(id, writes.requestCancel(id, request));
  }

  async dropExpiredCancelRequests(nowMs: number): Promise<number> {
    return this.#write(writes.dropExpiredTombstones(nowMs));
  }

  async get(id: string): Promise<ProcessRecord | undefined> {
    return this.#read(one("process", [id]));
  }

  async markAwaited(id: string): Promise<ProcessRecord | undefined> {
    return this.#write(writes.markAwaited(id));
  }

  async markStarted(id: string, replayKey: string): Promise<ProcessRecord> {
    assertStorable(replayKey, "replayKey");
    return this.#writeNotifying(id, writes.markStarted(id, replayKey));
  }

  async setStatus(id: string, status: "queued" | "running" | "waiting"): Promise<void> {
    await this.#write(writes.setStatus(id, status));
  }

  async recordRetry(id: string, opts: { fromAttempt?: number } = {}): Promise<ProcessRecord> {
    return this.#write(writes.recordRetry(id, opts.fromAttempt));
  }

  async appendEvent(id: string, input: EventAppend): Promise<ProcessEvent> {
    return withPayloadCheck((prechecked) => this.#writeNotifying(id, writes.appendOnce(STORABLE, id, input, prechecked)));
  }

  async countEvents(id: string, type: string, upToSequence: number): Promise<number> {
    await this.#read(writes.requireExists(id));
    return (await this.#read(one("countEvents", [id, type, upToSequence])))?.n ?? 0;
  }

  async complete(id: string, output: ProcessAwaitOutput, opts: { replayKey?: string } = {}): Promise<CompleteResult> {
    const parsed = parseOutput(output);
    assertStorable(parsed, "output");
    assertStorable(opts.replayKey, "opts.replayKey");
    return this.#writeNotifying(id, writes.complete(id, parsed, opts.replayKey));
  }

  async eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]> {
    const events = await this.#read(all("eventsAfter", [id, after, pageLimit(limit)]));
    // An event implies its row (ON DELETE CASCADE): only an empty page asks whether the process exists.
    if (events.length === 0) await this.#read(writes.requireExists(id));
    return events;
  }

  async waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined> {
    await this.#read(writes.requireExists(id));
    return this.#notifier.wait(id, timeoutMs, async () =>
      this.#read(type === undefined ? one("eventsAfter", [id, after, 1]) : one("firstOfTypeAfter", [id, type, after])),
    );
  }

  async listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>> {
    const size = pageLimit(limit);
    return toPage(await this.#read(all("liveAfter", [cursor ?? "", size])), size);
  }

  async list(filter: ListFilter = {}): Promise<Page<ProcessRecord>> {
    const size = pageLimit(filter.limit);
    const { sql, params } = listQuery(POSTGRES_LIST, filter, size);
    return toPage((await this.#query(this.#pool, { text: sql, values: params })).rows.map(toRecord), size, filter.order);
  }

  async prune(input: PruneOptions): Promise<PruneResult> {
    const { limit, dryRun, cutoffMs } = parsePruneOptions(input);
    const ids: string[] = [];
    let after = { at: Number.MIN_SAFE_INTEGER, id: "" };
    let more = false;
    const finishedBefore = async (afterAt: number, afterId: string, n: number) =>
      (
        await this.#query<{ id: string; updated_at_ms: string }>(this.#pool, {
          name: "lash_finishedBefore",
          text: POSTGRES_PRUNE.finishedBefore,
          values: [cutoffMs, afterAt, afterId, n],
        })
      ).rows;
    while (ids.length < limit) {
      const want = Math.min(PRUNE_BATCH, limit - ids.length);
      // Each batch is its own statement, so its own short transaction.
      const rows = dryRun
        ? await finishedBefore(after.at, after.id, want)
        : (
            await this.#query<{ id: string; updated_at_ms: string }>(this.#pool, {
              name: "lash_deleteFinished",
              text: POSTGRES_PRUNE.deleteFinished,
              values: [cutoffMs, want],
            })
          ).rows;
      rows.sort((a, b) => Number(a.updated_at_ms) - Number(b.updated_at_ms) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      ids.push(...rows.map((r) => r.id));
      const last = rows.at(-1);
      if (last !== undefined) after = { at: Number(last.updated_at_ms), id: last.id };
      if (rows.length < want) break;
      if (ids.length >= limit) {
        const next = await finishedBefore(dryRun ? after.at : Number.MIN_SAFE_INTEGER, dryRun ? after.id : "", 1);
        more = next.length > 0;
      }
    }
    return { pruned: ids.length, ids, more, cutoffMs };
  }

  async countSessionProcesses(sessionId: string, upTo: number): Promise<number> {
    return (await this.#read(one("countLiveInSession", [sessionId, upTo])))?.n ?? 0;
  }

  /** Idempotent. Pending `waitEventAfter` calls reject; later calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#notifier.close();
    await this.#pool.end();
  }

  /**
   * Runs a write algorithm (`sql-algorithms.ts`), awaiting each statement. A first statement
   * that takes no lock commits on its own, in the group commit of this turn's writes (a new
   * row's insert-and-start, an unopposed outcome: the whole write, mostly). The rest run on
   * one pooled connection and become ONE transaction at the first statement that takes a
   * lock (BEGIN sent just before it), committed at the end, rolled back on any error.
   */
  async #write<T>(algorithm: Sql<T>): Promise<T> {
    let step = algorithm.next();
    if (step.done !== true) {
      const def = POSTGRES_STATEMENTS[step.value.name];
      if (def !== null && def.locks !== true) step = algorithm.next(await this.#commits.run(step.value, def));
    }
    if (step.done === true) return step.value;
    const db = await this.#pool.connect();
    let inTransaction = false;
    let broken = false;
    try {
      while (step.done !== true) {
        const stmt = step.value;
        const def: StatementDef<unknown> | null = POSTGRES_STATEMENTS[stmt.name];
        if (def?.locks === true && !inTransaction) {
          await db.query("BEGIN");
          inTransaction = true;
        }
        step = algorithm.next(def === null ? absentResult(stmt.mode) : await this.#execute(db, stmt, def));
      }
      if (inTransaction) await db.query("COMMIT");
      return step.value;
    } catch (err) {
      // A failed ROLLBACK means the connection itself is gone: drop it from the pool.
      if (inTransaction) await db.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      db.release(broken);
    }
  }

  /** A write that may append an event: after the commit, local waiters wake and other processes get a NOTIFY. */
  async #writeNotifying<T>(id: string, algorithm: Sql<Written<T>>): Promise<T> {
    const { result, appended } = await this.#write(algorithm);
    if (appended) this.#notifier.announce(id);
    return result;
  }

  /** Runs a read (statements that take no lock) on the pool, one statement at a time. */
  async #read<T>(algorithm: Sql<T>): Promise<T> {
    let step = algorithm.next();
    while (step.done !== true) {
      const stmt = step.value;
      const def: StatementDef<unknown> | null = POSTGRES_STATEMENTS[stmt.name];
      if (def?.locks === true) throw new Error(`statement ${stmt.name} takes a lock: run it in a write`);
      step = algorithm.next(def === null ? absentResult(stmt.mode) : await this.#execute(this.#pool, stmt, def));
    }
    return step.value;
  }

  async #execute(db: Queryable, stmt: Stmt, def: StatementDef<unknown>): Promise<unknown> {
    const result = await this.#query(db, { name: `lash_${stmt.name}`, text: def.sql, values: stmt.params as unknown[] });
    switch (stmt.mode) {
      case "one":
        return result.rows.length === 0 ? undefined : def.decode(result.rows[0]!);
      case "all":
        return result.rows.map((row) => def.decode(row));
      case "run":
        return result.rowCount ?? 0;
    }
  }

  async #query<T extends pg.QueryResultRow = Record<string, unknown>>(db: Queryable, query: pg.QueryConfig): Promise<pg.QueryResult<T>> {
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
