import type { DurabilityTier } from "../registry/port.ts";
import type { SessionAppend, SessionEntry } from "../model/session-entry.ts";

/**
 * A session's conversation (messages, tool calls and results, usage), appended by
 * session turns and read back to rebuild the conversation for the next one.
 *
 * Appends are idempotent per `(session, replayKey)`: the same content again returns
 * the stored entry, other content under the key is a `replay_conflict`. The entries of
 * one append get consecutive sequences atomically. Adapters share the rules in
 * `session-rules.ts` and are held to `test/session-store-conformance.ts`.
 */
export interface SessionStore {
  readonly kind: string;
  readonly durabilityTier: DurabilityTier;
  append(sessionId: string, entries: SessionAppend[]): Promise<SessionEntry[]>;
  /** Entries with sequence > `after` (default 0), in order, at most `limit` (default 100, max 1000). */
  read(sessionId: string, opts?: { after?: number; limit?: number }): Promise<SessionEntry[]>;
  close(): Promise<void>;
}
