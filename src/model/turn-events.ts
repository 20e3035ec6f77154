/**
 * Events a session turn writes on its own log as it goes, so a host can show progress.
 * Like `signal.<name>`, they exist for every process without a declaration (the
 * built-in session-turn runner writes them; `turn.` is reserved for it).
 */
export const TurnEventTypes = {
  /** `{ iteration }` */
  modelCallStarted: "turn.model_call_started",
  /** `{ iteration, finishReason, toolCalls, usage: { promptTokens, completionTokens, totalTokens } }` */
  modelCallFinished: "turn.model_call_finished",
  /** `{ callId, name, processId }` */
  toolCallStarted: "turn.tool_call_started",
  /** `{ callId, name, processId, outcome }` (the outcome's type, and class/code for a failure) */
  toolCallFinished: "turn.tool_call_finished",
  /** `{ content, truncated }` */
  finalMessage: "turn.final_message",
} as const;
export const TURN_EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(TurnEventTypes));
