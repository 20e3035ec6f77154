/** The session store's rules, shared by every adapter. Pure functions. */
import { z } from "zod";
import { LashError, canonicalJson, parseOrThrow } from "../model/index.ts";
import { pageLimit } from "../registry/rules.ts";
import { SessionAppend, SessionId, type CheckedSessionAppend, type SessionEntry } from "../model/session-entry.ts";

/** Validates a session id and a batch of appends (naming the bad field). */
export function parseAppends(sessionId: string, entries: unknown): CheckedSessionAppend[] {
  parseOrThrow(SessionId, sessionId, "sessionId");
  const parsed = parseOrThrow(z.array(SessionAppend).min(1).max(1000), entries, "entries");
  const keys = new Set<string>();
  parsed.forEach((e, i) => {
    if (keys.has(e.replayKey)) throw new LashError("invalid_input", `entries.${i}.replayKey: used twice in one append`, { field: `entries.${i}.replayKey` });
    keys.add(e.replayKey);
  });
  return parsed;
}

export function parseRead(sessionId: string, opts: { after?: number; limit?: number }): { after: number; limit: number } {
  parseOrThrow(SessionId, sessionId, "sessionId");
  const after = opts.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) throw new LashError("invalid_input", "after: must be an integer >= 0", { field: "after" });
  return { after, limit: pageLimit(opts.limit) };
}

const content = (e: CheckedSessionAppend) =>
  canonicalJson({ turnId: e.turnId, attempt: e.attempt, message: e.message, usage: e.usage ?? null, final: e.final });

/** Same replay key: the same content returns the stored entry, other content conflicts. */
export function sessionReplayOf(existing: SessionEntry, append: CheckedSessionAppend): SessionEntry {
  if (content(existing) !== content(append)) {
    throw new LashError("replay_conflict", `replay key "${append.replayKey}" was already used for another session entry (sequence ${existing.sequence})`, {
      field: "entries.replayKey",
    });
  }
  return existing;
}

export function newEntry(sessionId: string, sequence: number, append: CheckedSessionAppend, nowMs: number): SessionEntry {
  return { ...append, sessionId, sequence, occurredAtMs: nowMs };
}
