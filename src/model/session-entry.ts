import { z } from "zod";

export const SessionToolCall = z.object({
  /** The model's id for the call (tool results answer it). */
  id: z.string().min(1),
  name: z.string().min(1),
  /** The arguments exactly as the model wrote them (a JSON text). */
  arguments: z.string(),
});
export type SessionToolCall = z.infer<typeof SessionToolCall>;

/** One message of a conversation, in the chat-completions roles. */
export const SessionMessage = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: z.string() }),
  z.object({ role: z.literal("user"), content: z.string() }),
  z.object({ role: z.literal("assistant"), content: z.string().nullable(), toolCalls: z.array(SessionToolCall).optional() }),
  z.object({
    role: z.literal("tool"),
    toolCallId: z.string().min(1),
    name: z.string().min(1),
    content: z.string(),
    /** The child process that ran the call. */
    processId: z.string().optional(),
  }),
]);
export type SessionMessage = z.infer<typeof SessionMessage>;

export const TokenUsage = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

/** What a turn appends; `replayKey` makes the append idempotent (Restate may run a step again). */
export const SessionAppend = z.object({
  /** The session_turn process that wrote it. */
  turnId: z.string().min(1),
  /** The run of that process (a resubmitted run starts the turn over). */
  attempt: z.number().int().min(1),
  message: SessionMessage,
  /** The model call's usage, on assistant messages. */
  usage: TokenUsage.optional(),
  /** The turn's last message: the answer without tool calls. */
  final: z.boolean().default(false),
  replayKey: z.string().min(1).max(500),
});
export type SessionAppend = z.input<typeof SessionAppend>;
export type CheckedSessionAppend = z.output<typeof SessionAppend>;

export const SessionEntry = SessionAppend.extend({
  sessionId: z.string(),
  /** 1, 2, 3… per session, in append order. */
  sequence: z.number().int().min(1),
  occurredAtMs: z.number(),
});
export type SessionEntry = z.infer<typeof SessionEntry>;

export const SessionId = z.string().min(1).max(500);
