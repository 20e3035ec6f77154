import type { SessionAppend, SessionEntry } from "../model/session-entry.ts";
import { newEntry, parseAppends, parseRead, sessionReplayOf } from "./session-rules.ts";
import type { SessionStore } from "./session-store.ts";

/** In-process session store (lost on exit), beside the memory registry. */
export class MemorySessionStore implements SessionStore {
  readonly kind = "memory";
  readonly durabilityTier = "inline" as const;
  readonly #sessions = new Map<string, SessionEntry[]>();

  async append(sessionId: string, input: SessionAppend[]): Promise<SessionEntry[]> {
    const appends = parseAppends(sessionId, input);
    const entries = this.#sessions.get(sessionId) ?? [];
    // Check every replay first, so a conflicting batch writes nothing.
    const existing = appends.map((a) => {
      const found = entries.find((e) => e.replayKey === a.replayKey);
      return found === undefined ? undefined : sessionReplayOf(found, a);
    });
    const now = Date.now();
    const out = appends.map((a, i) => {
      const found = existing[i];
      if (found !== undefined) return found;
      const entry = newEntry(sessionId, entries.length + 1, a, now);
      entries.push(entry);
      return entry;
    });
    this.#sessions.set(sessionId, entries);
    return structuredClone(out);
  }

  async read(sessionId: string, opts: { after?: number; limit?: number } = {}): Promise<SessionEntry[]> {
    const { after, limit } = parseRead(sessionId, opts);
    return structuredClone((this.#sessions.get(sessionId) ?? []).filter((e) => e.sequence > after).slice(0, limit));
  }

  async close(): Promise<void> {}
}
