/**
 * Rows of the SQLite schema (see `migrations.ts`) and their mapping to the model:
 * JSON columns are TEXT, a missing outcome or replay key is NULL in the row and an
 * absent key in the model (as the memory adapter returns them).
 */
import type { SQLInputValue } from "node:sqlite";
import type { ProcessAwaitOutput, ProcessEvent, ProcessRecord, ProcessStatus } from "../model/index.ts";
import { cursorAfter, parseNewestCursor, type ListOrder } from "./list-order.ts";
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
export function toPage(rows: ProcessRow[], limit: number, order?: ListOrder): Page<ProcessRecord> {
  const items = rows.map(toRecord);
  const last = items.at(-1);
  return { items, ...(items.length === limit && last ? { nextCursor: cursorAfter(last, order) } : {}) };
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
  if (filter.parentId !== undefined) {
    where.push("json_extract(provenance, '$.causedBy.kind') = 'process' AND json_extract(provenance, '$.causedBy.id') = ?");
    params.push(filter.parentId);
  }
  if (filter.target !== undefined) {
    where.push(`(CASE json_extract(input, '$.type') WHEN 'tool_call' THEN json_extract(input, '$.call.tool')
      WHEN 'program' THEN json_extract(input, '$.name') ELSE json_extract(input, '$.type') END) = ?`);
    params.push(filter.target);
  }
  if (filter.idContains !== undefined) {
    where.push("instr(id, ?) > 0");
    params.push(filter.idContains);
  }
  if (filter.order === "newest") {
    if (filter.cursor !== undefined) {
      const c = parseNewestCursor(filter.cursor);
      where.push("(created_at_ms < ? OR (created_at_ms = ? AND id < ?))");
      params.push(c.createdAtMs, c.createdAtMs, c.id);
    }
    params.push(limit);
    const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    return { sql: `SELECT * FROM lash_processes ${clause} ORDER BY created_at_ms DESC, id DESC LIMIT ?`, params };
  }
  where.push("id > ?");
  params.push(filter.cursor ?? "", limit);
  return { sql: `SELECT * FROM lash_processes WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`, params };
}
