/**
 * Rows of the SQLite schema (see `migrations.ts`) and their mapping to the model:
 * JSON columns are TEXT, a missing outcome or replay key is NULL in the row and an
 * absent key in the model (as the memory adapter returns them).
 */
import type { SQLInputValue } from "node:sqlite";
import type { ProcessAwaitOutput, ProcessEvent, ProcessRecord, ProcessStatus } from "../model/index.ts";
import type { ListFilter, Page } from "./port.ts";
import type { AppendTarget } from "./rules.ts";

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


export function toRecord(row: ProcessRow): ProcessRecord {
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

export function toAppendTarget(row: AppendTargetRow): AppendTarget {
  return { id: row.id, status: row.status, eventTypes: JSON.parse(row.event_types) as AppendTarget["eventTypes"], registrationHash: row.registration_hash };
}

export function toEvent(row: EventRow): ProcessEvent {
  return {
    processId: row.process_id,
    sequence: row.sequence,
    type: row.type,
    payload: JSON.parse(row.payload) as ProcessEvent["payload"],
    occurredAtMs: row.occurred_at_ms,
    ...(row.replay_key === null ? {} : { replayKey: row.replay_key }),
  };
}

/** Same rule as the memory adapter: a full page carries a cursor, even if nothing follows. */
export function toPage(rows: ProcessRow[], limit: number): Page<ProcessRecord> {
  const items = rows.map(toRecord);
  const last = items.at(-1);
  return { items, ...(items.length === limit && last ? { nextCursor: last.id } : {}) };
}

/** Builds the `list` query from fixed fragments; filter values only ever become parameters. */
export function listQuery(filter: ListFilter, limit: number): { sql: string; params: SQLInputValue[] } {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  if (filter.sessionId !== undefined) {
    where.push("session_id = ?");
    params.push(filter.sessionId);
  }
  where.push("id > ?");
  params.push(filter.cursor ?? "", limit);
  return { sql: `SELECT * FROM lash_processes WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`, params };
}
