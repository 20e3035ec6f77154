/**
 * The registry schema as ONE ordered, named list of migrations, with the SQLite and
 * the PostgreSQL statements side by side (the dbos-transact-ts `sysdb_migrations`
 * habit). A schema change is a new entry at the end, never an edit of an entry that
 * may already have been applied somewhere. Each database records what it applied in
 * `lash_migrations(version, name, applied_at_ms)`.
 *
 * The statements are frozen text on purpose (status names are spelled out rather
 * than derived from `ProcessStatus`): a migration describes history, and history
 * must not change when the code does.
 */

import type { ProcessRecord } from "../model/index.ts";

export type Dialect = "sqlite" | "postgres";

export interface Migration {
  /** 1, 2, 3… in list order; the version table's primary key. */
  readonly version: number;
  readonly name: string;
  /** Empty: nothing to do in that dialect (the entry's comment says why). */
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

/**
 * One event per (process, replay key), enforced by the database, except for terminal
 * events: those carry the key of the run that wrote them (`complete(..., { replayKey })`),
 * which is the same invocation id that run used for its `process.started`. Terminal
 * events are unique per process anyway (the outcome column is written once), and
 * replay lookups only ever happen on non-terminal rows, which hold no terminal event.
 * Same text in both dialects; lookups repeat the WHERE clause so the index serves them.
 */
const REPLAY_KEY_INDEX = `CREATE UNIQUE INDEX lash_events_replay_key ON lash_events (process_id, replay_key)
        WHERE replay_key IS NOT NULL AND type NOT IN ('process.completed', 'process.failed', 'process.cancelled', 'process.abandoned')`;

/** Migration 8's `lash_insert_process`, as applied (frozen like every migration's text). */
const INSERT_PROCESS_FUNCTION_V8 = `CREATE FUNCTION lash_insert_process(
          text, text, jsonb, jsonb, jsonb, text, integer, text, integer, bigint, bigint, bigint, integer, text, jsonb, text)
        RETURNS TABLE (started boolean, tombstone_reason text, tombstone_expires_at_ms bigint, notified text)
        LANGUAGE plpgsql VOLATILE
        SET search_path FROM CURRENT
      AS $fn$
      #variable_conflict use_column
      BEGIN
        IF $14 IS NOT NULL THEN
          PERFORM pg_advisory_xact_lock(hashtext('lash_cancel:' || $1));
        END IF;
        -- Only a cancel request that applies to this row (unexpired when the row is created): an
        -- expired one must not keep the row from starting here (a start written after this
        -- statement would no longer be under the lock).
        RETURN QUERY WITH tombstone AS (SELECT reason, expires_at_ms FROM lash_cancel_requests WHERE id = $1 AND expires_at_ms >= $10),
        starts AS (SELECT $14 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tombstone) AS yes),
        inserted AS (
          INSERT INTO lash_processes
            (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms, timeout_ms, last_sequence)
          SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN starts.yes THEN 'running' ELSE $8 END, $9, $10, $11, $12, CASE WHEN starts.yes THEN 1 ELSE 0 END
          FROM starts
          WHERE NOT EXISTS (SELECT 1 FROM lash_processes WHERE id = $1)
          AND ($13 IS NULL
            OR (SELECT count(*) FROM (SELECT 1 FROM lash_processes WHERE session_id = $6 AND status IN ('queued', 'pending', 'running', 'waiting') LIMIT $13) AS owned) < $13)
          ON CONFLICT (id) DO NOTHING
          RETURNING last_sequence = 1 AS started
        ),
        first_event AS (
          INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key)
          SELECT $1, 1, $14, $15, $10, $16 FROM inserted WHERE inserted.started
        )
        SELECT inserted.started, t.reason, t.expires_at_ms,
          CASE WHEN inserted.started THEN pg_notify('lash_events', coalesce(current_schema(), '') || '/' || $1)::text END
        FROM inserted LEFT JOIN tombstone t ON true;
      END
      $fn$`;

/** The line of it that migration 9 drops: the NOTIFY moved out of the transaction. */
const V8_NOTIFY_LINE = `CASE WHEN inserted.started THEN pg_notify('lash_events', coalesce(current_schema(), '') || '/' || $1)::text END`;

/** Migration 9's: the same function without its pg_notify (the `notified` column stays, NULL), replaced in place. */
const INSERT_PROCESS_FUNCTION_V9 = replaceOnce(
  replaceOnce(INSERT_PROCESS_FUNCTION_V8, "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
  V8_NOTIFY_LINE,
  "NULL::text",
);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "processes_and_events",
    sqlite: [
      `CREATE TABLE lash_processes (
        id                TEXT    NOT NULL PRIMARY KEY,
        registration_hash TEXT    NOT NULL,
        input             TEXT    NOT NULL,
        event_types       TEXT    NOT NULL,
        provenance        TEXT    NOT NULL,
        session_id        TEXT    NOT NULL,
        max_attempts      INTEGER NOT NULL,
        status            TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'abandoned')),
        attempt           INTEGER NOT NULL,
        outcome           TEXT,
        created_at_ms     INTEGER NOT NULL,
        updated_at_ms     INTEGER NOT NULL,
        last_sequence     INTEGER NOT NULL DEFAULT 0
      )`,
      `CREATE INDEX lash_processes_live_by_id ON lash_processes (id) WHERE status IN ('pending', 'running', 'waiting')`,
      `CREATE INDEX lash_processes_by_session ON lash_processes (session_id, id)`,
      `CREATE INDEX lash_processes_by_status ON lash_processes (status, id)`,
      `CREATE TABLE lash_events (
        process_id     TEXT    NOT NULL REFERENCES lash_processes (id) ON DELETE CASCADE,
        sequence       INTEGER NOT NULL,
        type           TEXT    NOT NULL,
        payload        TEXT    NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        replay_key     TEXT,
        PRIMARY KEY (process_id, sequence)
      )`,
      REPLAY_KEY_INDEX,
      `CREATE INDEX lash_events_by_type ON lash_events (process_id, type, sequence)`,
    ],
    // COLLATE "C" on ids: keyset paging by id must order bytewise, as SQLite's BINARY
    // collation and the memory adapter do, whatever the database's locale is.
    // JSONB cannot hold a \u0000 inside a string (nor an unpaired surrogate); SQLite's
    // TEXT can. The PostgreSQL adapter refuses such values up front as invalid_input
    // naming the field (postgres-rows.ts `assertStorable`), so they never reach the server.
    postgres: [
      `CREATE TABLE lash_processes (
        id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        registration_hash TEXT    NOT NULL,
        input             JSONB   NOT NULL,
        event_types       JSONB   NOT NULL,
        provenance        JSONB   NOT NULL,
        session_id        TEXT COLLATE "C" NOT NULL,
        max_attempts      INTEGER NOT NULL,
        status            TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'abandoned')),
        attempt           INTEGER NOT NULL,
        outcome           JSONB,
        created_at_ms     BIGINT  NOT NULL,
        updated_at_ms     BIGINT  NOT NULL,
        last_sequence     BIGINT  NOT NULL DEFAULT 0
      )`,
      `CREATE INDEX lash_processes_live_by_id ON lash_processes (id) WHERE status IN ('pending', 'running', 'waiting')`,
      `CREATE INDEX lash_processes_by_session ON lash_processes (session_id, id)`,
      `CREATE INDEX lash_processes_by_status ON lash_processes (status, id)`,
      `CREATE TABLE lash_events (
        process_id     TEXT COLLATE "C" NOT NULL REFERENCES lash_processes (id) ON DELETE CASCADE,
        sequence       BIGINT NOT NULL,
        type           TEXT   NOT NULL,
        payload        JSONB  NOT NULL,
        occurred_at_ms BIGINT NOT NULL,
        replay_key     TEXT,
        PRIMARY KEY (process_id, sequence)
      )`,
      REPLAY_KEY_INDEX,
      `CREATE INDEX lash_events_by_type ON lash_events (process_id, type, sequence)`,
    ],
  },
  {
    version: 2,
    // `queued`: waiting for a concurrency slot (LashConcurrencyLimiter). A live status, so the
    // live index and the CHECK both learn it. PostgreSQL swaps the CHECK constraint in place.
    // SQLite cannot alter a CHECK, so the table is rebuilt (the documented copy-and-rename
    // procedure). Dropping `lash_processes` while `lash_events` references it would cascade
    // (foreign keys are on, and PRAGMA foreign_keys cannot change inside this transaction),
    // so the events move to a plain copy first and come back after; all in the one
    // migration transaction, so a crash leaves the old schema.
    name: "queued_status",
    sqlite: [
      `CREATE TABLE lash_processes_next (
        id                TEXT    NOT NULL PRIMARY KEY,
        registration_hash TEXT    NOT NULL,
        input             TEXT    NOT NULL,
        event_types       TEXT    NOT NULL,
        provenance        TEXT    NOT NULL,
        session_id        TEXT    NOT NULL,
        max_attempts      INTEGER NOT NULL,
        status            TEXT    NOT NULL CHECK (status IN ('queued', 'pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'abandoned')),
        attempt           INTEGER NOT NULL,
        outcome           TEXT,
        created_at_ms     INTEGER NOT NULL,
        updated_at_ms     INTEGER NOT NULL,
        last_sequence     INTEGER NOT NULL DEFAULT 0
      )`,
      `INSERT INTO lash_processes_next (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, outcome,
          created_at_ms, updated_at_ms, last_sequence)
        SELECT id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, outcome,
          created_at_ms, updated_at_ms, last_sequence FROM lash_processes`,
      `CREATE TABLE lash_events_copy AS SELECT process_id, sequence, type, payload, occurred_at_ms, replay_key FROM lash_events`,
      `DROP TABLE lash_events`,
      `DROP TABLE lash_processes`,
      `ALTER TABLE lash_processes_next RENAME TO lash_processes`,
      `CREATE TABLE lash_events (
        process_id     TEXT    NOT NULL REFERENCES lash_processes (id) ON DELETE CASCADE,
        sequence       INTEGER NOT NULL,
        type           TEXT    NOT NULL,
        payload        TEXT    NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        replay_key     TEXT,
        PRIMARY KEY (process_id, sequence)
      )`,
      `INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key)
        SELECT process_id, sequence, type, payload, occurred_at_ms, replay_key FROM lash_events_copy`,
      `DROP TABLE lash_events_copy`,
      `CREATE INDEX lash_processes_live_by_id ON lash_processes (id) WHERE status IN ('queued', 'pending', 'running', 'waiting')`,
      `CREATE INDEX lash_processes_by_session ON lash_processes (session_id, id)`,
      `CREATE INDEX lash_processes_by_status ON lash_processes (status, id)`,
      REPLAY_KEY_INDEX,
      `CREATE INDEX lash_events_by_type ON lash_events (process_id, type, sequence)`,
    ],
    postgres: [
      `ALTER TABLE lash_processes DROP CONSTRAINT lash_processes_status_check`,
      `ALTER TABLE lash_processes ADD CONSTRAINT lash_processes_status_check
        CHECK (status IN ('queued', 'pending', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'abandoned'))`,
      `DROP INDEX lash_processes_live_by_id`,
      `CREATE INDEX lash_processes_live_by_id ON lash_processes (id) WHERE status IN ('queued', 'pending', 'running', 'waiting')`,
    ],
  },
  {
    version: 3,
    // Retention (`prune`) walks finished rows oldest first, in batches, by (updated_at_ms, id).
    name: "finished_by_age_index",
    sqlite: [
      `CREATE INDEX lash_processes_finished_by_age ON lash_processes (updated_at_ms, id)
        WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned')`,
    ],
    postgres: [
      `CREATE INDEX lash_processes_finished_by_age ON lash_processes (updated_at_ms, id)
        WHERE status IN ('completed', 'failed', 'cancelled', 'abandoned')`,
    ],
  },
  {
    // `registration.timeoutMs` (a deadline, part of the registration), and cancels recorded
    // for ids not registered yet (cancel-before-start), each kept until it expires.
    version: 4,
    name: "process_deadlines_and_cancel_requests",
    sqlite: [
      `ALTER TABLE lash_processes ADD COLUMN timeout_ms INTEGER`,
      `CREATE TABLE lash_cancel_requests (
        id              TEXT    NOT NULL PRIMARY KEY,
        reason          TEXT,
        requested_at_ms INTEGER NOT NULL,
        expires_at_ms   INTEGER NOT NULL
      )`,
      `CREATE INDEX lash_cancel_requests_by_expiry ON lash_cancel_requests (expires_at_ms)`,
    ],
    postgres: [
      `ALTER TABLE lash_processes ADD COLUMN timeout_ms BIGINT`,
      `CREATE TABLE lash_cancel_requests (
        id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        reason          TEXT,
        requested_at_ms BIGINT NOT NULL,
        expires_at_ms   BIGINT NOT NULL
      )`,
      `CREATE INDEX lash_cancel_requests_by_expiry ON lash_cancel_requests (expires_at_ms)`,
    ],
  },
  {
    version: 5,
    name: "session_entries",
    // A session's conversation (src/sessions/): a per-session sequence counter, and the
    // entries, unique per (session, replay key) so a retried append writes nothing twice.
    sqlite: [
      `CREATE TABLE lash_sessions (
        id            TEXT    NOT NULL PRIMARY KEY,
        last_sequence INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      )`,
      `CREATE TABLE lash_session_entries (
        session_id     TEXT    NOT NULL REFERENCES lash_sessions (id) ON DELETE CASCADE,
        sequence       INTEGER NOT NULL,
        turn_id        TEXT    NOT NULL,
        attempt        INTEGER NOT NULL,
        message        TEXT    NOT NULL,
        usage          TEXT,
        final          INTEGER NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        replay_key     TEXT    NOT NULL,
        PRIMARY KEY (session_id, sequence)
      )`,
      `CREATE UNIQUE INDEX lash_session_entries_replay_key ON lash_session_entries (session_id, replay_key)`,
    ],
    postgres: [
      `CREATE TABLE lash_sessions (
        id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        last_sequence BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE lash_session_entries (
        session_id     TEXT COLLATE "C" NOT NULL REFERENCES lash_sessions (id) ON DELETE CASCADE,
        sequence       BIGINT  NOT NULL,
        turn_id        TEXT    NOT NULL,
        attempt        INTEGER NOT NULL,
        message        JSONB   NOT NULL,
        usage          JSONB,
        final          BOOLEAN NOT NULL,
        occurred_at_ms BIGINT  NOT NULL,
        replay_key     TEXT    NOT NULL,
        PRIMARY KEY (session_id, sequence)
      )`,
      `CREATE UNIQUE INDEX lash_session_entries_replay_key ON lash_session_entries (session_id, replay_key)`,
    ],
  },
  {
    version: 6,
    // The per-session cap (LASH_MAX_PROCESSES_PER_SESSION) counts a session's live rows on every
    // start: without this index that count walked every row the session ever had.
    name: "live_by_session_index",
    sqlite: [`CREATE INDEX lash_processes_live_by_session ON lash_processes (session_id) WHERE status IN ('queued', 'pending', 'running', 'waiting')`],
    postgres: [`CREATE INDEX lash_processes_live_by_session ON lash_processes (session_id) WHERE status IN ('queued', 'pending', 'running', 'waiting')`],
  },
  {
    version: 7,
    // Set by `awaitTerminal` on a live row: only then does the run resolve the outcome promise
    // (two journal entries per process that nobody waits for otherwise).
    name: "awaited_marker",
    sqlite: [`ALTER TABLE lash_processes ADD COLUMN awaited INTEGER NOT NULL DEFAULT 0`],
    postgres: [`ALTER TABLE lash_processes ADD COLUMN awaited BOOLEAN NOT NULL DEFAULT false`],
  },
  {
    version: 8,
    // PostgreSQL: a new row's insert-and-start in ONE round trip, without a transaction around
    // it (it was BEGIN, lock, insert, COMMIT). A volatile function runs each statement with
    // a fresh snapshot, so the insert reads the tombstone AFTER the cancel lock is held: a cancel
    // request for this id either committed before (its tombstone is seen) or waits for this
    // commit and then finds the row. SQLite needs nothing: its write lock serializes writes.
    name: "insert_process_function",
    sqlite: [],
    postgres: [INSERT_PROCESS_FUNCTION_V8],
  },
  {
    version: 9,
    // PostgreSQL: `lash_insert_process` without its pg_notify. The NOTIFY now follows the commit
    // (postgres-notifier.ts says why); the result keeps its `notified` column, always NULL, so
    // the function is replaced in place. SQLite: nothing to do.
    name: "notify_after_commit",
    sqlite: [],
    postgres: [INSERT_PROCESS_FUNCTION_V9],
  },
];

/** What differs between the backends when applying migrations; everything else is shared. */
export interface BackendProfile {
  /** Opens the migration transaction and takes a lock that serializes concurrent openers. */
  readonly beginMigration: readonly string[];
  /** Run after the lock is held, so two openers never race on creating it. */
  readonly versionTable: string;
  readonly selectApplied: string;
  readonly insertApplied: string;
}

export const BACKEND_PROFILES: Readonly<Record<Dialect, BackendProfile>> = {
  sqlite: {
    // IMMEDIATE takes the write lock up front: a second opener waits (busy_timeout),
    // then sees the version rows the first one committed.
    beginMigration: ["BEGIN IMMEDIATE"],
    versionTable: `CREATE TABLE IF NOT EXISTS lash_migrations (
      version       INTEGER NOT NULL PRIMARY KEY,
      name          TEXT    NOT NULL,
      applied_at_ms INTEGER NOT NULL
    )`,
    selectApplied: "SELECT version, name FROM lash_migrations ORDER BY version",
    insertApplied: "INSERT INTO lash_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
  },
  postgres: {
    // CREATE TABLE IF NOT EXISTS is not safe under concurrency in PostgreSQL; a
    // transaction-scoped advisory lock makes concurrent openers take turns. The key is
    // per database, so openers of different schemas take (brief) turns as well; the
    // adapter creates a `?schema=` under this lock too (CREATE SCHEMA IF NOT EXISTS races
    // the same way).
    beginMigration: ["BEGIN", "SELECT pg_advisory_xact_lock(hashtext('lash_migrations'))"],
    versionTable: `CREATE TABLE IF NOT EXISTS lash_migrations (
      version       INTEGER NOT NULL PRIMARY KEY,
      name          TEXT    NOT NULL,
      applied_at_ms BIGINT  NOT NULL
    )`,
    selectApplied: "SELECT version, name FROM lash_migrations ORDER BY version",
    insertApplied: "INSERT INTO lash_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
  },
};

/**
 * The migrations still to apply, in order, given the versions a database recorded.
 * A recorded version this build does not know means the database was migrated by a
 * newer build; running older code against it could corrupt it, so that is refused.
 */
export function pendingMigrations(applied: ReadonlyMap<number, string>): Migration[] {
  for (const [version, name] of applied) {
    const known = MIGRATIONS.find((m) => m.version === version);
    if (known === undefined || known.name !== name) {
      throw new Error(`registry schema has migration ${version} "${name}", which this build does not know; upgrade lash-processes`);
    }
  }
  return MIGRATIONS.filter((m) => !applied.has(m.version));
}

/** Guards the list itself: versions must be 1..n in order with unique names. */
export function assertMigrationListIsOrdered(list: readonly Migration[] = MIGRATIONS): void {
  const names = new Set<string>();
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}; expected ${i + 1}`);
    if (names.has(m.name)) throw new Error(`migration name "${m.name}" is used twice`);
    if (m.sqlite.length === 0 && m.postgres.length === 0) throw new Error(`migration "${m.name}" has no statements`);
    names.add(m.name);
  });
}

/**
 * Values of a new `lash_processes` row in the column order both dialects'
 * `insertProcess` statements use: (id, registration_hash, input, event_types,
 * provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms, timeout_ms).
 * JSON travels as text (SQLite TEXT; PostgreSQL casts it to JSONB).
 */
export function processInsertParams(r: ProcessRecord): (string | number | null)[] {
  const json = JSON.stringify;
  return [
    r.id,
    r.registrationHash,
    json(r.input),
    json(r.eventTypes),
    json(r.provenance),
    r.provenance.ownerScope.sessionId,
    r.maxAttempts,
    r.status,
    r.attempt,
    r.createdAtMs,
    r.updatedAtMs,
    r.timeoutMs ?? null,
  ];
}

/** `text` with its one occurrence of `what` replaced; throws (at import) if there is not exactly one. */
function replaceOnce(text: string, what: string, by: string): string {
  const at = text.indexOf(what);
  if (at < 0 || text.indexOf(what, at + 1) >= 0) throw new Error(`migrations: expected exactly one "${what}"`);
  return text.slice(0, at) + by + text.slice(at + what.length);
}
