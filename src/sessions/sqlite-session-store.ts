import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { openSqliteDatabase } from "../registry/sqlite-registry.ts";
import type { SessionAppend, SessionEntry } from "../model/session-entry.ts";
import { newEntry, parseAppends, parseRead, sessionReplayOf } from "./session-rules.ts";
import { sessionInsertParams, toSessionEntry, type SessionEntryRow } from "./session-rows.ts";
import type { SessionStore } from "./session-store.ts";

const SQL = {
  byReplayKey: "SELECT * FROM lash_session_entries WHERE session_id = ? AND replay_key = ?",
  nextSequence: `INSERT INTO lash_sessions (id, last_sequence, updated_at_ms) VALUES (?, 1, ?)
    ON CONFLICT (id) DO UPDATE SET last_sequence = last_sequence + 1, updated_at_ms = excluded.updated_at_ms RETURNING last_sequence`,
  insert: `INSERT INTO lash_session_entries (session_id, sequence, turn_id, attempt, message, usage, final, occurred_at_ms, replay_key)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  after: "SELECT * FROM lash_session_entries WHERE session_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
} as const;

/**
 * The session store in the registry's SQLite file (its own connection; the tables come
 * from the registry's migrations). One `BEGIN IMMEDIATE` transaction per append.
 */
export class SqliteSessionStore implements SessionStore {
  readonly kind = "sqlite";
  readonly durabilityTier = "durable" as const;
  readonly #db: DatabaseSync;

  static open(path: string, opts: { busyTimeoutMs?: number } = {}): SqliteSessionStore {
    return new SqliteSessionStore(openSqliteDatabase(path, opts.busyTimeoutMs));
  }

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  async append(sessionId: string, input: SessionAppend[]): Promise<SessionEntry[]> {
    const appends = parseAppends(sessionId, input);
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const now = Date.now();
      const out = appends.map((a) => {
        const row = this.#get<SessionEntryRow>(SQL.byReplayKey, sessionId, a.replayKey);
        if (row !== undefined) return sessionReplayOf(toSessionEntry(row), a);
        const { last_sequence } = this.#get<{ last_sequence: number }>(SQL.nextSequence, sessionId, now)!;
        const entry = newEntry(sessionId, Number(last_sequence), a, now);
        this.#db.prepare(SQL.insert).run(...sessionInsertParams(entry));
        return entry;
      });
      this.#db.exec("COMMIT");
      return out;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  async read(sessionId: string, opts: { after?: number; limit?: number } = {}): Promise<SessionEntry[]> {
    const { after, limit } = parseRead(sessionId, opts);
    return (this.#db.prepare(SQL.after).all(sessionId, after, limit) as unknown as SessionEntryRow[]).map(toSessionEntry);
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#db.prepare(sql).get(...params) as T | undefined;
  }
}
