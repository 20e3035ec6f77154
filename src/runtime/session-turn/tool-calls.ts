import { TurnEventTypes, type ProcessAwaitOutput } from "../../model/index.ts";
import type { SessionMessage, SessionToolCall } from "../../model/session-entry.ts";
import type { ChildHandle, ProcessContext } from "../process-context.ts";
import type { ModelTools } from "./model-tools.ts";

/** A tool result longer than this is cut (with a note) before it goes back to the model. */
export const TOOL_RESULT_MAX_CHARS = 32_000;

type ToolMessage = Extract<SessionMessage, { role: "tool" }>;

/**
 * Runs the model's tool calls as child processes of the turn: all are started first
 * (so they run in parallel), then awaited in order. A call the model may not make, or
 * with arguments that are not JSON, is answered with an error message instead (the
 * model can correct itself); it starts nothing.
 */
export async function runToolCalls(ctx: ProcessContext, calls: SessionToolCall[], tools: ModelTools): Promise<ToolMessage[]> {
  const started: ({ call: SessionToolCall; name: string; handle: ChildHandle } | { call: SessionToolCall; error: string })[] = [];
  for (const call of calls) {
    const entry = tools.byFunctionName.get(call.name);
    const args = parseArgs(call.arguments);
    if (entry === undefined) {
      started.push({ call, error: `unknown tool "${call.name}" (offered: ${[...tools.byFunctionName.keys()].join(", ") || "none"})` });
      continue;
    }
    if (args === undefined) {
      started.push({ call, error: `the arguments of "${call.name}" are not a JSON object: ${call.arguments.slice(0, 200)}` });
      continue;
    }
    const input =
      entry.kind === "tool"
        ? { type: "tool_call" as const, call: { tool: entry.name, args: args as never, callId: call.id } }
        : { type: "program" as const, name: entry.name, args: args as never };
    const handle = await ctx.start({ input });
    await ctx.emit(TurnEventTypes.toolCallStarted, { callId: call.id, name: entry.name, processId: handle.id });
    started.push({ call, name: entry.name, handle });
  }
  const messages: ToolMessage[] = [];
  for (const s of started) {
    if ("error" in s) {
      messages.push({ role: "tool", toolCallId: s.call.id, name: s.call.name, content: JSON.stringify({ error: s.error }) });
      continue;
    }
    const outcome = await s.handle.result();
    await ctx.emit(TurnEventTypes.toolCallFinished, { callId: s.call.id, name: s.name, processId: s.handle.id, outcome: outcomeSummary(outcome) });
    messages.push({ role: "tool", toolCallId: s.call.id, name: s.call.name, content: resultText(outcome), processId: s.handle.id });
  }
  return messages;
}

function parseArgs(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text.trim() === "" ? "{}" : text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function outcomeSummary(o: ProcessAwaitOutput): Record<string, string> {
  return o.type === "failure" ? { type: o.type, class: o.class, code: o.code } : { type: o.type };
}

/** What the model reads back: the success value as JSON, or the failure (class, code, message). */
function resultText(o: ProcessAwaitOutput): string {
  const body =
    o.type === "success"
      ? o.value
      : o.type === "failure"
        ? { error: { class: o.class, code: o.code, message: o.message } }
        : o.type === "cancelled"
          ? { error: { cancelled: o.message } }
          : { error: { abandoned: o.evidence.writer } };
  const text = JSON.stringify(body ?? null);
  return text.length <= TOOL_RESULT_MAX_CHARS ? text : `${text.slice(0, TOOL_RESULT_MAX_CHARS)}… (cut at ${TOOL_RESULT_MAX_CHARS} characters)`;
}
