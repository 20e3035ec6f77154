import pg from "pg";
import { LashError } from "../model/index.ts";
import { parsePostgresUrl } from "../registry/postgres-config.ts";
import { connectionConfig, migrate, openError } from "../registry/postgres-registry.ts";
import type { SessionAppend, SessionEntry } from "../model/session-entry.ts";
import { newEntry, parseAppends, parseRead, sessionReplayOf } from "./session-rules.ts";
import { sessionInsertParams, toSessionEntry, type SessionEntryRow } from "./session-rows.ts";
import type { SessionStore } from "./session-store.ts";

const SQL = {
  byReplayKey: "SELECT * FROM lash_session_entries WHERE session_id = $1 AND replay_key = $2",
  // The upsert locks the session's counter row: concurrent appenders to one session take turns.
  nextSequence: `INSERT INTO lash_sessions (id, last_sequence, updated_at_ms) VALUES ($1, 1, $2)
    ON CONFLICT (id) DO UPDATE SET last_sequence = lash_sessions.last_sequence + 1, updated_at_ms = excluded.updated_at_ms RETURNING last_sequence`,
  insert: `INSERT INTO lash_session_entries (session_id, sequence, turn_id, attempt, message, usage, final, occurred_at_ms, replay_key)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::int::boolean, $8, $9)`,
  after: "SELECT * FROM lash_session_entries WHERE session_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
} as const;

/** The session store in the registry's PostgreSQL database (same URL, `?schema=` included; a small pool of its own). */
export class PostgresSessionStore implements SessionStore {
  readonly kind = "postgres";
  readonly durabilityTier = "durable" as const;
  readonly #pool: pg.Pool;
  #closed = false;

  static async open(url: string): Promise<PostgresSessionStore> {
    const settings = parsePostgresUrl(url);
    const pool = new pg.Pool({ ...connectionConfig(settings, `${settings.applicationName} sessions`), max: Math.min(settings.poolSize, 4) });
    pool.on("error", (err) => console.warn(`lash: PostgreSQL session store dropped an idle connection (${err.message})`));
    try {
      await migrate(pool, settings.schema);
      return new PostgresSessionStore(pool);
    } catch (err) {
      await pool.end().catch(() => {});
      throw openError(err, settings);
    }
  }

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async append(sessionId: string, input: SessionAppend[]): Promise<SessionEntry[]> {
    const appends = parseAppends(sessionId, input);
    assertStorable(sessionId, appends);
    const db = await this.#connect();
    let broken = false;
    try {
      await db.query("BEGIN");
      // Lock the counter row first, so a concurrent append of the same replay key waits and then finds it.
      await db.query("INSERT INTO lash_sessions (id, last_sequence, updated_at_ms) VALUES ($1, 0, $2) ON CONFLICT (id) DO UPDATE SET id = excluded.id", [
        sessionId,
        Date.now(),
      ]);
      const now = Date.now();
      const out: SessionEntry[] = [];
      for (const a of appends) {
        const row = (await db.query<SessionEntryRow>(SQL.byReplayKey, [sessionId, a.replayKey])).rows[0];
        if (row !== undefined) {
          out.push(sessionReplayOf(toSessionEntry(row), a));
          continue;
        }
        const seq = (await db.query<{ last_sequence: string }>(SQL.nextSequence, [sessionId, now])).rows[0]!.last_sequence;
        const entry = newEntry(sessionId, Number(seq), a, now);
        await db.query(SQL.insert, sessionInsertParams(entry));
        out.push(entry);
      }
      await db.query("COMMIT");
      return out;
    } catch (err) {
      await db.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      db.release(broken);
    }
  }

  async read(sessionId: string, opts: { after?: number; limit?: number } = {}): Promise<SessionEntry[]> {
    const { after, limit } = parseRead(sessionId, opts);
    assertStorable(sessionId, []);
    const db = await this.#connect();
    try {
      return (await db.query<SessionEntryRow>(SQL.after, [sessionId, after, limit])).rows.map(toSessionEntry);
    } finally {
      db.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  #connect(): Promise<pg.PoolClient> {
    if (this.#closed) throw new Error("the PostgreSQL session store is closed");
    return this.#pool.connect();
  }
}

/** TEXT and JSONB cannot hold NUL: refuse it up front as invalid input instead of a server error a step would retry. */
function assertStorable(sessionId: string, appends: unknown[]): void {
  if (sessionId.includes("\u0000") || JSON.stringify(appends).includes("\\u0000")) {
    throw new LashError("invalid_input", "entries: a NUL character (\\u0000) cannot be stored in the PostgreSQL session store", { field: "entries" });
  }
}
