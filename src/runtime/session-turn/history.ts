import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { SessionEntry, SessionMessage } from "../../model/session-entry.ts";
import type { SessionStore } from "../../sessions/session-store.ts";

/**
 * The conversation a new turn continues: the messages of the session's earlier turns
 * that reached a final answer, in append order. A turn that failed or was cancelled
 * midway is kept in the store (`lashctl session` shows it) but not replayed to the
 * model: its last assistant message may ask for tool calls that were never answered,
 * which chat-completions APIs refuse. If recovery ran a turn again (a new attempt),
 * only its first completed attempt counts.
 */
export function completedTurns(entries: SessionEntry[], exceptTurn: string): SessionMessage[] {
  const finals = new Map<string, number>();
  for (const e of entries) {
    if (e.final && e.turnId !== exceptTurn && !finals.has(e.turnId)) finals.set(e.turnId, e.attempt);
  }
  return entries.filter((e) => finals.get(e.turnId) === e.attempt).map((e) => e.message);
}

/** Every entry of a session, page by page. */
export async function readAll(store: SessionStore, sessionId: string): Promise<SessionEntry[]> {
  const all: SessionEntry[] = [];
  for (;;) {
    const page = await store.read(sessionId, { after: all.at(-1)?.sequence ?? 0, limit: 1000 });
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

/** A stored message in the chat-completions wire shape. */
export function toChatMessage(m: SessionMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case "system":
    case "user":
      return { role: m.role, content: m.content };
    case "assistant":
      return {
        role: "assistant",
        content: m.content,
        ...(m.toolCalls?.length
          ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
    case "tool":
      return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
  }
}
