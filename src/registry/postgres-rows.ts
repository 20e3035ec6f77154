/**
 * PostgreSQL's statement table (the names of `sql-statements.ts`) and the mapping of its
 * rows to the model, with the same results as `sqlite-rows.ts`. Differences handled here:
 * - `pg` returns BIGINT columns as strings (they may exceed 2^53); ours are
 *   millisecond timestamps and sequences, so they are converted with `Number`.
 * - JSONB columns arrive parsed (fresh objects per query, so callers get copies).
 * - JSONB cannot hold `\u0000` in a string nor an unpaired UTF-16 surrogate, and TEXT
 *   cannot hold `\u0000` at all. SQLite stores both; here they are refused up front as
 *   `invalid_input` naming the field, never sent to the server (whose error would
 *   otherwise look transient and be retried).
 */
import { LashError, type ProcessAwaitOutput, type ProcessEvent, type ProcessRecord, type ProcessStatus } from "../model/index.ts";
import type { AppendTarget } from "./rules.ts";
import {
  LIVE_STATUSES_SQL,
  TERMINAL_EVENT_TYPES_SQL,
  TERMINAL_STATUSES_SQL,
  noRow,
  type ListDialect,
  type LockedProcess,
  type RawRow,
  type StatementTable,
} from "./sql-statements.ts";

export const PROCESS_COLUMNS =
  "id, registration_hash, input, event_types, provenance, max_attempts, status, attempt, outcome, created_at_ms, updated_at_ms, timeout_ms";
export const EVENT_COLUMNS = "process_id, sequence, type, payload, occurred_at_ms, replay_key";

export interface ProcessRow {
  id: string;
  registration_hash: string;
  input: ProcessRecord["input"];
  event_types: ProcessRecord["eventTypes"];
  provenance: ProcessRecord["provenance"];
  max_attempts: number;
  status: ProcessStatus;
  attempt: number;
  outcome: ProcessAwaitOutput | null;
  created_at_ms: string;
  updated_at_ms: string;
  timeout_ms: string | null;
}

export interface EventRow {
  process_id: string;
  sequence: string;
  type: string;
  payload: ProcessEvent["payload"];
  occurred_at_ms: string;
  replay_key: string | null;
}

export type AppendTargetRow = Pick<ProcessRow, "id" | "status" | "event_types" | "registration_hash">;

export function toRecord(raw: RawRow): ProcessRecord {
  const row = raw as unknown as ProcessRow;
  return {
    id: row.id,
    input: row.input,
    eventTypes: row.event_types,
    provenance: row.provenance,
    maxAttempts: row.max_attempts,
    registrationHash: row.registration_hash,
    status: row.status,
    attempt: row.attempt,
    ...(row.outcome === null ? {} : { outcome: row.outcome }),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    ...(row.timeout_ms === null ? {} : { timeoutMs: Number(row.timeout_ms) }),
  };
}

function toLocked(raw: RawRow): LockedProcess {
  return { record: toRecord(raw), cancelPayload: raw.cancel_payload ?? undefined, fresh: raw.fresh === true, awaited: raw.awaited === true };
}

export function toAppendTarget(raw: RawRow): AppendTarget {
  const row = raw as unknown as AppendTargetRow;
  return { id: row.id, status: row.status, eventTypes: row.event_types, registrationHash: row.registration_hash };
}

export function toEvent(raw: RawRow): ProcessEvent {
  const row = raw as unknown as EventRow;
  return {
    processId: row.process_id,
    sequence: Number(row.sequence),
    type: row.type,
    payload: row.payload,
    occurredAtMs: Number(row.occurred_at_ms),
    ...(row.replay_key === null ? {} : { replayKey: row.replay_key }),
  };
}

const toCount = (raw: RawRow) => ({ n: Number(raw.n) });

/**
 * Every statement of `sql-statements.ts`, for PostgreSQL, sent as named prepared statements
 * (parsed once per connection); values are always bound, never pasted in. Explicit column
 * lists, so a later migration that adds a column cannot change a prepared statement's result
 * shape. A write is a transaction from its first statement that takes a lock (`locks`); the
 * row lock serializes every write to one process, across connections and OS processes, and
 * READ COMMITTED then shows each later statement the latest commits.
 */
const INSERT_PROCESS_ARGS = `$1::text, $2::text, $3::jsonb, $4::jsonb, $5::jsonb, $6::text, $7::integer, $8::text, $9::integer,
  $10::bigint, $11::bigint, $12::bigint, $13::integer, $14::text, $15::jsonb, $16::text`;

/** `completeUnopposed`'s parameters (`appendParams`), named for `completeUnopposedSql`. */
const OUTCOME_ARGS = `$1::text AS pid, $2::bigint AS at, $3::text AS event_type, $4::jsonb AS event_payload,
  $5::text AS event_replay_key, $6::text AS new_status, $7::jsonb AS new_outcome`;

/** A `batched` statement's rows: `$1` is a JSON array of parameter arrays (`StatementDef.batched`). */
const BATCH_ROWS = "jsonb_array_elements($1::jsonb) WITH ORDINALITY AS b(p, ord)";

/** The same arguments read from a batch row: `$3::jsonb` becomes `(b.p->>2)::jsonb`. */
function batchedArgs(args: string): string {
  return args.replace(/\$(\d+)::/g, (_, n: string) => `(b.p->>${Number(n) - 1})::`);
}

/**
 * The unopposed outcome for the processes in `source` (rows of `ord` and `OUTCOME_ARGS`'s
 * columns): the UPDATE takes the row lock; if it waited, PostgreSQL re-checks its WHERE on
 * the newest row version, against subquery results from the snapshot taken before the wait:
 * an event committed meanwhile makes the counter differ from the newest event seen, and
 * nothing is written. The event row follows in the same statement.
 */
function completeUnopposedSql(source: string): string {
  const processColumns = PROCESS_COLUMNS.split(", ")
    .map((column) => `p.${column}`)
    .join(", ");
  return `WITH v AS (${source}), counter AS (
        UPDATE lash_processes p SET last_sequence = p.last_sequence + 1, updated_at_ms = v.at, status = v.new_status, outcome = v.new_outcome
        FROM v
        WHERE p.id = v.pid AND p.outcome IS NULL AND p.status IN ${LIVE_STATUSES_SQL}
          AND p.last_sequence = (SELECT coalesce(max(sequence), 0) FROM lash_events WHERE process_id = v.pid)
          AND NOT EXISTS (SELECT 1 FROM lash_events WHERE process_id = v.pid AND type = 'process.cancel_requested')
        RETURNING v.ord, v.at, v.event_type, v.event_payload, v.event_replay_key, ${processColumns}, p.last_sequence, p.awaited
      ), inserted AS (
        INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key)
        SELECT id, last_sequence, event_type, event_payload, at, event_replay_key FROM counter RETURNING process_id, sequence
      )
      SELECT counter.*, inserted.sequence AS event_sequence FROM counter JOIN inserted ON inserted.process_id = counter.id ORDER BY counter.ord`;
}

export const POSTGRES_STATEMENTS: StatementTable = {
  process: { sql: `SELECT ${PROCESS_COLUMNS} FROM lash_processes WHERE id = $1`, decode: toRecord },
  exists: { sql: "SELECT 1 FROM lash_processes WHERE id = $1", decode: () => ({ found: true }) },
  // Serializes a cancel request with the start of a run of the same id, also while no row exists yet.
  lockCancel: { sql: "SELECT pg_advisory_xact_lock(hashtext('lash_cancel:' || $1::text))", decode: noRow, locks: true },
  // The lock and the cancel read in one round trip; `fresh` tells whether the read's snapshot
  // (taken before any wait for the lock) already held every event of the row (see `LockedProcess`).
  lockProcess: {
    sql: `WITH locked AS (SELECT ${PROCESS_COLUMNS}, last_sequence, awaited FROM lash_processes WHERE id = $1::text FOR NO KEY UPDATE)
      SELECT locked.*,
        (SELECT payload FROM lash_events WHERE process_id = $1::text AND type = 'process.cancel_requested' ORDER BY sequence LIMIT 1) AS cancel_payload,
        (SELECT coalesce(max(sequence), 0) FROM lash_events WHERE process_id = $1::text) = locked.last_sequence AS fresh
      FROM locked`,
    decode: toLocked,
    locks: true,
  },
  lockAppendTarget: {
    sql: "SELECT id, status, event_types, registration_hash FROM lash_processes WHERE id = $1 FOR NO KEY UPDATE",
    decode: toAppendTarget,
    locks: true,
  },
  // One round trip, committed on its own or in its turn's group commit (postgres-group-commit.ts):
  // `lash_insert_process` (migrations 8, 9) takes the cancel lock when it starts the row, then
  // inserts with a snapshot taken after the lock (each statement in it takes a fresh one). A
  // concurrent insert of the same id makes it wait for that transaction, then do nothing. Under
  // a cap it inserts only while the session owns fewer live rows. With a start ($14-$16) and no
  // tombstone row for the id, the row is inserted running with its first event.
  insertProcess: {
    sql: `SELECT started, tombstone_reason, tombstone_expires_at_ms FROM lash_insert_process(${INSERT_PROCESS_ARGS})`,
    // One call per parameter list, in their order: the function is VOLATILE, so each call's
    // statements see what the calls before it wrote (a session cap counts them).
    batched: `SELECT b.ord, f.started, f.tombstone_reason, f.tombstone_expires_at_ms
      FROM ${BATCH_ROWS} CROSS JOIN LATERAL lash_insert_process(${batchedArgs(INSERT_PROCESS_ARGS)}) AS f
      ORDER BY b.ord`,
    decode: (raw) => ({
      tombstone:
        raw.tombstone_expires_at_ms === null ? undefined : { reason: raw.tombstone_reason as string | null, expiresAtMs: Number(raw.tombstone_expires_at_ms) },
      started: raw.started === true,
    }),
  },
  // One round trip: take the next sequence from the row's counter (the row is already locked
  // by this transaction) with the row's new status and outcome, and insert the event. The
  // NOTIFY follows the commit (postgres-notifier.ts says why not inside it).
  appendEvent: {
    sql: `WITH counter AS (
        UPDATE lash_processes SET last_sequence = last_sequence + 1, updated_at_ms = $2::bigint,
          status = coalesce($6::text, status), outcome = coalesce($7::jsonb, outcome)
        WHERE id = $1::text RETURNING last_sequence
      ), inserted AS (
        INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key)
        SELECT $1::text, last_sequence, $3::text, $4::jsonb, $2::bigint, $5::text FROM counter RETURNING sequence
      )
      SELECT sequence FROM inserted`,
    decode: (raw) => ({ sequence: Number(raw.sequence) }),
  },
  insertEvent: null,
  // completeUnopposedSql says how a concurrent event keeps it from writing.
  completeUnopposed: {
    sql: completeUnopposedSql(`SELECT 1 AS ord, ${OUTCOME_ARGS}`),
    // The same for several processes: the UPDATE joined to all their parameter lists (distinct ids).
    batched: completeUnopposedSql(`SELECT b.ord, ${batchedArgs(OUTCOME_ARGS)} FROM ${BATCH_ROWS}`),
    decode: (raw) => ({ record: toRecord(raw), sequence: Number(raw.event_sequence), awaited: raw.awaited === true }),
  },
  markAwaited: { sql: `UPDATE lash_processes SET awaited = true WHERE id = $1 AND status IN ${LIVE_STATUSES_SQL} AND NOT awaited`, decode: noRow },
  setStatus: {
    sql: `UPDATE lash_processes SET status = $2, updated_at_ms = $3 WHERE id = $1 AND status IN ${LIVE_STATUSES_SQL} AND status <> $2`,
    decode: noRow,
  },
  // One statement: the attempt check and the bump cannot interleave with another sweeper's.
  retry: {
    sql: `UPDATE lash_processes SET attempt = attempt + 1, status = 'pending', updated_at_ms = $2
      WHERE id = $1 AND status IN ${LIVE_STATUSES_SQL} AND ($3::int IS NULL OR attempt = $3::int) RETURNING ${PROCESS_COLUMNS}`,
    decode: toRecord,
  },
  // The partial index's clause repeated word for word, so it serves the lookup.
  eventByReplayKey: {
    sql: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND replay_key = $2 AND type NOT IN ${TERMINAL_EVENT_TYPES_SQL}`,
    decode: toEvent,
  },
  firstOfType: { sql: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND type = $2 ORDER BY sequence LIMIT 1`, decode: toEvent },
  lastOfType: { sql: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND type = $2 ORDER BY sequence DESC LIMIT 1`, decode: toEvent },
  tombstone: {
    sql: "SELECT reason, expires_at_ms FROM lash_cancel_requests WHERE id = $1",
    decode: (raw) => ({ reason: raw.reason as string | null, expiresAtMs: Number(raw.expires_at_ms) }),
  },
  insertTombstone: {
    sql: "INSERT INTO lash_cancel_requests (id, reason, requested_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
    decode: noRow,
  },
  dropExpiredTombstones: { sql: "DELETE FROM lash_cancel_requests WHERE expires_at_ms < $1", decode: noRow },
  eventsAfter: { sql: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`, decode: toEvent },
  firstOfTypeAfter: {
    sql: `SELECT ${EVENT_COLUMNS} FROM lash_events WHERE process_id = $1 AND type = $2 AND sequence > $3 ORDER BY sequence LIMIT 1`,
    decode: toEvent,
  },
  countEvents: { sql: "SELECT COUNT(*) AS n FROM lash_events WHERE process_id = $1 AND type = $2 AND sequence <= $3", decode: toCount },
  countLiveInSession: {
    sql: `SELECT count(*) AS n FROM (SELECT 1 FROM lash_processes WHERE session_id = $1 AND status IN ${LIVE_STATUSES_SQL} LIMIT $2) AS owned`,
    decode: toCount,
  },
  // The partial index's WHERE clause repeated, so the planner can walk it in id order and stop at LIMIT.
  liveAfter: { sql: `SELECT ${PROCESS_COLUMNS} FROM lash_processes WHERE status IN ${LIVE_STATUSES_SQL} AND id > $1 ORDER BY id LIMIT $2`, decode: toRecord },
};

/**
 * Retention (not shared: SQLite selects and deletes row by row under its write lock), oldest
 * first by (updated_at_ms, id) on the finished-rows index. The delete locks what it takes (SKIP
 * LOCKED: a row another writer holds waits for the next batch) and re-checks the status;
 * events go by the foreign key's ON DELETE CASCADE.
 */
export const POSTGRES_PRUNE = {
  finishedBefore: `SELECT id, updated_at_ms FROM lash_processes
    WHERE status IN ${TERMINAL_STATUSES_SQL} AND updated_at_ms < $1
    AND (updated_at_ms, id) > ($2::bigint, $3::text) ORDER BY updated_at_ms, id LIMIT $4`,
  deleteFinished: `WITH doomed AS (
      SELECT id, updated_at_ms FROM lash_processes
      WHERE status IN ${TERMINAL_STATUSES_SQL} AND updated_at_ms < $1
      ORDER BY updated_at_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED
    )
    DELETE FROM lash_processes p USING doomed WHERE p.id = doomed.id RETURNING p.id, p.updated_at_ms`,
} as const;

export const POSTGRES_LIST: ListDialect = {
  param: (n) => `$${n}`,
  columns: PROCESS_COLUMNS,
  parentIs: (p) => `provenance->'causedBy'->>'kind' = 'process' AND provenance->'causedBy'->>'id' = ${p}`,
  target: "(CASE input->>'type' WHEN 'tool_call' THEN input->'call'->>'tool' WHEN 'program' THEN input->>'name' ELSE input->>'type' END)",
  idContains: (p) => `strpos(id, ${p}) > 0`,
};

// A NUL, or a surrogate half without its partner (no `u` flag: match code units).
// eslint-disable-next-line no-control-regex -- matching NUL is the point: PostgreSQL text cannot store it
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses a value PostgreSQL cannot store (see the file comment), naming the first
 * offending string or key, e.g. `event.payload.items.2.name`.
 */
export function assertStorable(value: unknown, field: string): void {
  const bad = unstorablePath(value, field);
  if (bad !== undefined) {
    throw new LashError(
      "invalid_input",
      `${bad}: contains a NUL character (\\u0000) or an unpaired UTF-16 surrogate, which the PostgreSQL registry cannot store`,
      { field: bad },
    );
  }
}

function unstorablePath(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return UNSTORABLE.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const bad = unstorablePath(item, `${path}.${i}`);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return `${path}.${key.replace(UNSTORABLE, "\\u????")}`;
      const bad = unstorablePath(item, `${path}.${key}`);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}
