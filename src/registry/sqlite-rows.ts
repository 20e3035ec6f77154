/**
 * SQLite's statement table (the names of `sql-statements.ts`) and the mapping of its rows
 * to the model: JSON columns are TEXT, a missing outcome or replay key is NULL in the row
 * and an absent key in the model (as the memory adapter returns them).
 */
import type { ProcessAwaitOutput, ProcessEvent, ProcessRecord, ProcessStatus } from "../model/index.ts";
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

export interface ProcessRow {
  id: string;
  registration_hash: string;
  input: string;
  event_types: string;
  provenance: string;
  session_id: string;
  max_attempts: number;
  status: ProcessStatus;
  attempt: number;
  outcome: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  last_sequence: number;
  timeout_ms: number | null;
}

export interface EventRow {
  process_id: string;
  sequence: number;
  type: string;
  payload: string;
  occurred_at_ms: number;
  replay_key: string | null;
}

export type AppendTargetRow = Pick<ProcessRow, "id" | "status" | "event_types" | "registration_hash">;

export function toRecord(raw: RawRow): ProcessRecord {
  const row = raw as unknown as ProcessRow;
  return {
    id: row.id,
    input: JSON.parse(row.input) as ProcessRecord["input"],
    eventTypes: JSON.parse(row.event_types) as ProcessRecord["eventTypes"],
    provenance: JSON.parse(row.provenance) as ProcessRecord["provenance"],
    maxAttempts: row.max_attempts,
    registrationHash: row.registration_hash,
    status: row.status,
    attempt: row.attempt,
    ...(row.outcome === null ? {} : { outcome: JSON.parse(row.outcome) as ProcessAwaitOutput }),
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
    ...(row.timeout_ms === null || row.timeout_ms === undefined ? {} : { timeoutMs: row.timeout_ms }),
  };
}

function toLocked(raw: RawRow): LockedProcess {
  const cancel = raw.cancel_payload as string | null;
  return { record: toRecord(raw), cancelPayload: cancel === null ? undefined : (JSON.parse(cancel) as unknown), fresh: true, awaited: raw.awaited === 1 };
}

export function toAppendTarget(raw: RawRow): AppendTarget {
  const row = raw as unknown as AppendTargetRow;
  return { id: row.id, status: row.status, eventTypes: JSON.parse(row.event_types) as AppendTarget["eventTypes"], registrationHash: row.registration_hash };
}

export function toEvent(raw: RawRow): ProcessEvent {
  const row = raw as unknown as EventRow;
  return {
    processId: row.process_id,
    sequence: row.sequence,
    type: row.type,
    payload: JSON.parse(row.payload) as ProcessEvent["payload"],
    occurredAtMs: row.occurred_at_ms,
    ...(row.replay_key === null ? {} : { replayKey: row.replay_key }),
  };
}

const toCount = (raw: RawRow) => ({ n: raw.n as number });

const TOMBSTONE_OF_ID = (column: string) => `(SELECT ${column} FROM lash_cancel_requests WHERE id = ?1)`;
/**
 * `insertProcess` starts the new row: a start is given and no cancel request applies to it
 * (`tombstoneApplies`). Written out twice in the statement on purpose: selecting it once
 * `FROM (SELECT … AS starts)` made SQLite check the session cap before the id, and registering
 * an existing row went from about 95 to 430 µs (4,000 rows, one session).
 */
const STARTS = "(?14 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lash_cancel_requests WHERE id = ?1 AND expires_at_ms >= ?10))";

/**
 * Every statement of `sql-statements.ts`, for SQLite. Values are always bound, never pasted in.
 * Every write runs under SQLite's write lock (`BEGIN IMMEDIATE`), so nothing here locks rows
 * and `lockCancel` is left out.
 */
export const SQLITE_STATEMENTS: StatementTable = {
  process: { sql: "SELECT * FROM lash_processes WHERE id = ?1", decode: toRecord },
  exists: { sql: "SELECT 1 AS found FROM lash_processes WHERE id = ?1", decode: () => ({ found: true }) },
  lockCancel: null,
  lockProcess: {
    sql: `SELECT *, (SELECT payload FROM lash_events WHERE process_id = ?1 AND type = 'process.cancel_requested' ORDER BY sequence LIMIT 1) AS cancel_payload
      FROM lash_processes WHERE id = ?1`,
    decode: toLocked,
  },
  lockAppendTarget: { sql: "SELECT id, status, event_types, registration_hash FROM lash_processes WHERE id = ?1", decode: toAppendTarget },
  // Starts the row in the same statement (status `running`, sequence 1) when a start is given
  // (?14) and no tombstone applies (unexpired when the row is created, ?10); the start event
  // itself is the algorithm's next statement (`insertEvent`: no data-modifying CTEs here).
  // The id lookup first: re-registering an existing id neither counts the session nor tries the insert.
  // The cap: no `cap`-th live row in the session (an EXISTS that stops there; a count(*) over a
  // LIMIT subquery measured 2-3x slower).
  insertProcess: {
    sql: `INSERT INTO lash_processes
      (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms, timeout_ms, last_sequence)
      SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ${STARTS} THEN 'running' ELSE ?8 END, ?9, ?10, ?11, ?12, CASE WHEN ${STARTS} THEN 1 ELSE 0 END
      WHERE NOT EXISTS (SELECT 1 FROM lash_processes WHERE id = ?1)
      AND (?13 IS NULL OR (?13 > 0 AND NOT EXISTS (SELECT 1 FROM lash_processes WHERE session_id = ?6 AND status IN ${LIVE_STATUSES_SQL} LIMIT 1 OFFSET coalesce(?13, 1) - 1)))
      ON CONFLICT (id) DO NOTHING
      RETURNING last_sequence = 1 AS started, ${TOMBSTONE_OF_ID("reason")} AS tombstone_reason, ${TOMBSTONE_OF_ID("expires_at_ms")} AS tombstone_expires_at_ms`,
    decode: (raw) => ({
      tombstone:
        raw.tombstone_expires_at_ms === null
          ? undefined
          : { reason: raw.tombstone_reason as string | null, expiresAtMs: raw.tombstone_expires_at_ms as number },
      started: raw.started === 1,
    }),
  },
  // Two statements in SQLite (no data-modifying CTEs): the row (counter, time, status, outcome), then the event.
  appendEvent: {
    sql: `UPDATE lash_processes SET last_sequence = last_sequence + 1, updated_at_ms = ?2, status = coalesce(?6, status), outcome = coalesce(?7, outcome)
      WHERE id = ?1 RETURNING last_sequence AS sequence`,
    decode: (raw) => ({ sequence: raw.sequence as number }),
  },
  // Under the write lock every event is visible, so only the row's state decides; the event row is `insertEvent`.
  completeUnopposed: {
    sql: `UPDATE lash_processes SET last_sequence = last_sequence + 1, updated_at_ms = ?2, status = ?6, outcome = ?7
      WHERE id = ?1 AND outcome IS NULL AND status IN ${LIVE_STATUSES_SQL}
        AND NOT EXISTS (SELECT 1 FROM lash_events WHERE process_id = ?1 AND type = 'process.cancel_requested')
      RETURNING *`,
    decode: (raw) => ({ record: toRecord(raw), sequence: raw.last_sequence as number, awaited: raw.awaited === 1 }),
  },
  markAwaited: { sql: `UPDATE lash_processes SET awaited = 1 WHERE id = ?1 AND status IN ${LIVE_STATUSES_SQL} AND awaited = 0`, decode: noRow },
  insertEvent: {
    sql: "INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key) VALUES (?1, ?8, ?3, ?4, ?2, ?5)",
    decode: noRow,
  },
  setStatus: {
    sql: `UPDATE lash_processes SET status = ?2, updated_at_ms = ?3 WHERE id = ?1 AND status IN ${LIVE_STATUSES_SQL} AND status <> ?2`,
    decode: noRow,
  },
  retry: {
    sql: `UPDATE lash_processes SET attempt = attempt + 1, status = 'pending', updated_at_ms = ?2
      WHERE id = ?1 AND status IN ${LIVE_STATUSES_SQL} AND (?3 IS NULL OR attempt = ?3) RETURNING *`,
    decode: toRecord,
  },
  // The partial index's clause repeated word for word, so it serves the lookup.
  eventByReplayKey: {
    sql: `SELECT * FROM lash_events WHERE process_id = ?1 AND replay_key = ?2 AND type NOT IN ${TERMINAL_EVENT_TYPES_SQL}`,
    decode: toEvent,
  },
  firstOfType: { sql: "SELECT * FROM lash_events WHERE process_id = ?1 AND type = ?2 ORDER BY sequence LIMIT 1", decode: toEvent },
  lastOfType: { sql: "SELECT * FROM lash_events WHERE process_id = ?1 AND type = ?2 ORDER BY sequence DESC LIMIT 1", decode: toEvent },
  tombstone: {
    sql: "SELECT reason, expires_at_ms FROM lash_cancel_requests WHERE id = ?1",
    decode: (raw) => ({ reason: raw.reason as string | null, expiresAtMs: raw.expires_at_ms as number }),
  },
  insertTombstone: {
    sql: "INSERT INTO lash_cancel_requests (id, reason, requested_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
    decode: noRow,
  },
  dropExpiredTombstones: { sql: "DELETE FROM lash_cancel_requests WHERE expires_at_ms < ?1", decode: noRow },
  eventsAfter: { sql: "SELECT * FROM lash_events WHERE process_id = ?1 AND sequence > ?2 ORDER BY sequence LIMIT ?3", decode: toEvent },
  firstOfTypeAfter: { sql: "SELECT * FROM lash_events WHERE process_id = ?1 AND type = ?2 AND sequence > ?3 ORDER BY sequence LIMIT 1", decode: toEvent },
  countEvents: { sql: "SELECT COUNT(*) AS n FROM lash_events WHERE process_id = ?1 AND type = ?2 AND sequence <= ?3", decode: toCount },
  countLiveInSession: {
    sql: `SELECT count(*) AS n FROM (SELECT 1 FROM lash_processes WHERE session_id = ?1 AND status IN ${LIVE_STATUSES_SQL} LIMIT ?2)`,
    decode: toCount,
  },
  // Pinned to the partial index (its WHERE clause repeated word for word): an ordered
  // scan that stops at LIMIT. Left alone, the planner picks (status, id) and sorts.
  liveAfter: {
    sql: `SELECT * FROM lash_processes INDEXED BY lash_processes_live_by_id WHERE status IN ${LIVE_STATUSES_SQL} AND id > ?1 ORDER BY id LIMIT ?2`,
    decode: toRecord,
  },
};

/** Retention (not shared: PostgreSQL deletes with SKIP LOCKED in one statement per batch). */
export const SQLITE_PRUNE = {
  // The finished-rows index walked oldest first, keyset-paged by (updated_at_ms, id).
  finishedBefore: `SELECT id, updated_at_ms FROM lash_processes INDEXED BY lash_processes_finished_by_age
    WHERE status IN ${TERMINAL_STATUSES_SQL} AND updated_at_ms < ?
    AND (updated_at_ms > ? OR (updated_at_ms = ? AND id > ?)) ORDER BY updated_at_ms, id LIMIT ?`,
  // Events go by the foreign key's ON DELETE CASCADE; the status check keeps a row that came back to life.
  deleteFinished: `DELETE FROM lash_processes WHERE id = ? AND status IN ${TERMINAL_STATUSES_SQL}`,
} as const;

export const SQLITE_LIST: ListDialect = {
  param: (n) => `?${n}`,
  columns: "*",
  parentIs: (p) => `json_extract(provenance, '$.causedBy.kind') = 'process' AND json_extract(provenance, '$.causedBy.id') = ${p}`,
  target: `(CASE json_extract(input, '$.type') WHEN 'tool_call' THEN json_extract(input, '$.call.tool')
      WHEN 'program' THEN json_extract(input, '$.name') ELSE json_extract(input, '$.type') END)`,
  idContains: (p) => `instr(id, ${p}) > 0`,
};
