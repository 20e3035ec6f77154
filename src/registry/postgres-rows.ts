/**
 * Rows of the PostgreSQL schema (see `migrations.ts`) and their mapping to the model,
 * with the same results as `sqlite-rows.ts`. Differences handled here:
 * - `pg` returns BIGINT columns as strings (they may exceed 2^53); ours are
 *   millisecond timestamps and sequences, so they are converted with `Number`.
 * - JSONB columns arrive parsed (fresh objects per query, so callers get copies).
 * - JSONB cannot hold `\u0000` in a string nor an unpaired UTF-16 surrogate, and TEXT
 *   cannot hold `\u0000` at all. SQLite stores both; here they are refused up front as
 *   `invalid_input` naming the field, never sent to the server (whose error would
 *   otherwise look transient and be retried).
 */
import { LashError, type ProcessAwaitOutput, type ProcessEvent, type ProcessRecord, type ProcessStatus } from "../model/index.ts";
import { cursorAfter, parseNewestCursor, type ListOrder } from "./list-order.ts";
import type { ListFilter, Page } from "./port.ts";
import type { AppendTarget } from "./rules.ts";

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

export function toRecord(row: ProcessRow): ProcessRecord {
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

export function toAppendTarget(row: AppendTargetRow): AppendTarget {
  return { id: row.id, status: row.status, eventTypes: row.event_types, registrationHash: row.registration_hash };
}

export function toEvent(row: EventRow): ProcessEvent {
  return {
    processId: row.process_id,
    sequence: Number(row.sequence),
    type: row.type,
    payload: row.payload,
    occurredAtMs: Number(row.occurred_at_ms),
    ...(row.replay_key === null ? {} : { replayKey: row.replay_key }),
  };
}

/** Same rule as the other adapters: a full page carries a cursor, even if nothing follows. */
export function toPage(rows: ProcessRow[], limit: number, order?: ListOrder): Page<ProcessRecord> {
  const items = rows.map(toRecord);
  const last = items.at(-1);
  return { items, ...(items.length === limit && last ? { nextCursor: cursorAfter(last, order) } : {}) };
}

/** Builds the `list` query from fixed fragments; filter values only ever become parameters. */
export function listQuery(filter: ListFilter, limit: number): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
  if (filter.sessionId !== undefined) where.push(`session_id = ${param(filter.sessionId)}`);
  if (filter.parentId !== undefined) where.push(`provenance->'causedBy'->>'kind' = 'process' AND provenance->'causedBy'->>'id' = ${param(filter.parentId)}`);
  if (filter.target !== undefined) {
    where.push(
      `(CASE input->>'type' WHEN 'tool_call' THEN input->'call'->>'tool' WHEN 'program' THEN input->>'name' ELSE input->>'type' END) = ${param(filter.target)}`,
    );
  }
  if (filter.idContains !== undefined) where.push(`strpos(id, ${param(filter.idContains)}) > 0`);
  if (filter.order === "newest") {
    if (filter.cursor !== undefined) {
      const c = parseNewestCursor(filter.cursor);
      const at = param(c.createdAtMs);
      where.push(`(created_at_ms < ${at} OR (created_at_ms = ${at} AND id < ${param(c.id)}))`);
    }
    const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    return { text: `SELECT ${PROCESS_COLUMNS} FROM lash_processes ${clause} ORDER BY created_at_ms DESC, id DESC LIMIT ${param(limit)}`, values };
  }
  where.push(`id > ${param(filter.cursor ?? "")}`);
  const text = `SELECT ${PROCESS_COLUMNS} FROM lash_processes WHERE ${where.join(" AND ")} ORDER BY id LIMIT ${param(limit)}`;
  return { text, values };
}

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
