import type { SessionEntry } from "../model/session-entry.ts";

/** A `lash_session_entries` row as both drivers return it (JSON as text in SQLite, parsed in PostgreSQL). */
export interface SessionEntryRow {
  session_id: string;
  sequence: number | string;
  turn_id: string;
  attempt: number;
  message: string | SessionEntry["message"];
  usage: string | NonNullable<SessionEntry["usage"]> | null;
  final: number | boolean;
  occurred_at_ms: number | string;
  replay_key: string;
}

/** A JSON column: text in SQLite (parsed here, as written by `sessionInsertParams`), already parsed by pg. */
const json = <T extends object>(v: string | T): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

export function toSessionEntry(row: SessionEntryRow): SessionEntry {
  return {
    sessionId: row.session_id,
    sequence: Number(row.sequence),
    turnId: row.turn_id,
    attempt: Number(row.attempt),
    message: json(row.message),
    ...(row.usage === null ? {} : { usage: json(row.usage) }),
    final: row.final === true || row.final === 1,
    occurredAtMs: Number(row.occurred_at_ms),
    replayKey: row.replay_key,
  };
}

/** Insert parameters in the column order of both dialects' insert statements. */
export function sessionInsertParams(e: SessionEntry): (string | number | null)[] {
  return [
    e.sessionId,
    e.sequence,
    e.turnId,
    e.attempt,
    JSON.stringify(e.message),
    e.usage === undefined ? null : JSON.stringify(e.usage),
    e.final ? 1 : 0,
    e.occurredAtMs,
    e.replayKey,
  ];
}
