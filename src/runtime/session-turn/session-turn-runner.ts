import type OpenAI from "openai";
import type { ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import { TurnEventTypes } from "../../model/index.ts";
import type { SessionAppend, SessionMessage, TokenUsage } from "../../model/session-entry.ts";
import type { SessionStore } from "../../sessions/session-store.ts";
import type { CatalogEntry } from "../../model/wire.ts";
import { ProcessFailure } from "../process-failure.ts";
import type { SessionTurnArgs, SessionTurnRunner } from "../runtime-config.ts";
import type { ProcessContext } from "../process-context.ts";
import { completedTurns, readAll, toChatMessage } from "./history.ts";
import { callModel, loadOpenAI } from "./model-call.ts";
import { ModelConfig } from "./model-config.ts";
import { modelTools } from "./model-tools.ts";
import { checkAgainstContract } from "./output-contract.ts";
import { runToolCalls } from "./tool-calls.ts";
import { checkOutputContract, parseTurnInput } from "./turn-input.ts";

export interface SessionTurnRunnerDeps {
  sessions: SessionStore;
  /** The endpoint's catalog; the model is offered the entries `config.tools` names. */
  catalog: CatalogEntry[];
  config: ModelConfig;
}

/** What a successful turn returns. */
export interface TurnResult {
  /** The model's final answer. */
  message: string | null;
  /** The answer parsed and checked, when the turn had an `outputContract`. */
  output?: unknown;
  usage: TokenUsage;
  iterations: number;
}

/** The final message goes on the event log up to this many characters (the session store keeps all of it). */
const EVENT_CONTENT_MAX_CHARS = 16_000;

/**
 * The built-in session-turn runner for OpenAI-compatible chat-completions APIs.
 * One turn: read the session's earlier (completed) turns, add the user's message,
 * then loop: a model call (one durable step: replayed from the journal after a
 * crash, never sent again once answered), the model's tool calls as child processes,
 * their results fed back, until an answer without tool calls or the budget is spent.
 * Every message is appended to the session store as it happens, idempotently.
 */
export function createSessionTurnRunner(deps: SessionTurnRunnerDeps): SessionTurnRunner {
  const config = ModelConfig.parse(deps.config);
  const tools = modelTools(deps.catalog, config.tools);
  let client: Promise<OpenAI> | undefined;
  const clientOf = () =>
    (client ??= loadOpenAI().then(
      ({ default: OpenAI }) =>
        new OpenAI({ baseURL: config.baseUrl, apiKey: config.apiKey ?? "unused", maxRetries: config.maxRetries, timeout: config.requestTimeoutMs }),
    ));
  const { sessions } = deps;

  return async (ctx: ProcessContext<SessionTurnArgs>): Promise<TurnResult> => {
    const { session } = ctx.args;
    const input = parseTurnInput(ctx.args.turnInput);
    const contract = checkOutputContract(ctx.args.outputContract);
    const maxIterations = Math.min(input.maxIterations ?? config.maxIterations, config.maxIterations);
    const maxTokens = Math.min(input.maxTokens ?? config.maxTokens, config.maxTokens);
    const turnId = ctx.processId;
    let appended = 0;
    const append = (message: SessionMessage, extra: Pick<SessionAppend, "usage" | "final"> = {}) => {
      const entry: SessionAppend = { turnId, attempt: ctx.attempt, message, ...extra, replayKey: `${turnId}/${ctx.attempt}/${appended++}` };
      return ctx.step(`session append ${entry.replayKey}`, async () => {
        await sessions.append(session, [entry]);
        return null;
      });
    };

    const history = await ctx.step("read session", async () => completedTurns(await readAll(sessions, session), turnId));
    const user: SessionMessage = { role: "user", content: input.message };
    await append(user);
    const conversation: SessionMessage[] = [...history, user];
    const used: TokenUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

    for (let iteration = 1; ; iteration++) {
      if (iteration > maxIterations) {
        throw new ProcessFailure(
          "resource_limit",
          "turn_iterations_exhausted",
          `the turn made ${maxIterations} model calls without a final answer (budget ${maxIterations})`,
          {
            raw: { usage: used },
          },
        );
      }
      if (used.totalTokens >= maxTokens) {
        throw new ProcessFailure(
          "resource_limit",
          "turn_tokens_exhausted",
          `the turn used ${used.totalTokens} tokens without a final answer (budget ${maxTokens})`,
          {
            raw: { usage: used },
          },
        );
      }
      const params: ChatCompletionCreateParamsBase = {
        model: config.model,
        messages: conversation.map(toChatMessage),
        ...(tools.tools.length ? { tools: tools.tools } : {}),
        ...(contract ? { response_format: { type: "json_schema", json_schema: { name: "output_contract", schema: contract } } } : {}),
      };
      await ctx.emit(TurnEventTypes.modelCallStarted, { iteration });
      const answer = await ctx.step(`model call ${iteration}`, async (signal) => callModel(await clientOf(), params, config.stream, signal));
      used.promptTokens += answer.usage.promptTokens;
      used.completionTokens += answer.usage.completionTokens;
      used.totalTokens += answer.usage.totalTokens;
      const calls = answer.message.toolCalls ?? [];
      await ctx.emit(TurnEventTypes.modelCallFinished, { iteration, finishReason: answer.finishReason, toolCalls: calls.length, usage: answer.usage });
      conversation.push(answer.message);

      if (calls.length === 0) {
        let output: unknown;
        if (contract) {
          try {
            output = await checkAgainstContract(contract, answer.message.content, (name, fn) => ctx.step(name, fn));
          } catch (err) {
            await append(answer.message, { usage: answer.usage }); // kept for the record, not as the turn's answer
            throw err;
          }
        }
        await append(answer.message, { usage: answer.usage, final: true });
        const content = answer.message.content ?? "";
        await ctx.emit(TurnEventTypes.finalMessage, {
          content: content.slice(0, EVENT_CONTENT_MAX_CHARS),
          truncated: content.length > EVENT_CONTENT_MAX_CHARS,
        });
        return { message: answer.message.content, ...(contract ? { output } : {}), usage: used, iterations: iteration };
      }

      await append(answer.message, { usage: answer.usage });
      // No model call can follow: fail now rather than run tools whose results nobody reads.
      if (iteration >= maxIterations || used.totalTokens >= maxTokens) continue;
      for (const result of await runToolCalls(ctx, calls, tools)) {
        await append(result);
        conversation.push(result);
      }
    }
  };
}
