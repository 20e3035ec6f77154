import type OpenAI from "openai";
import type { ChatCompletion, ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import type { SessionMessage, TokenUsage } from "../../model/session-entry.ts";
import { ProcessFailure } from "../process-failure.ts";

/**
 * The `openai` package (about 30 MB of code and heap) is loaded with the first model
 * call, not with the endpoint: most endpoints never run a session turn.
 */
export function loadOpenAI(): Promise<typeof import("openai")> {
  return (openai ??= import("openai"));
}
let openai: Promise<typeof import("openai")> | undefined;

/** What one model call journals: the assistant's message and what it cost. */
export interface ModelAnswer {
  message: Extract<SessionMessage, { role: "assistant" }>;
  usage: TokenUsage;
  finishReason: string;
}

/**
 * One chat-completions request (streamed and assembled, or not), run inside a durable
 * step. 429, 5xx and connection errors are retried by the `openai` client with backoff
 * (honouring Retry-After) and then by the step's own retry; any other 4xx is a
 * deterministic failure naming the status and the provider's message, journaled so a
 * replay does not send it again.
 */
export async function callModel(client: OpenAI, params: ChatCompletionCreateParamsBase, stream: boolean, signal: AbortSignal): Promise<ModelAnswer> {
  let completion: ChatCompletion;
  try {
    if (stream) {
      // Assembled by the SDK's stream helper from the raw chunks, so it does not also parse
      // structured output: the output contract is checked, with a reason, by the runner.
      const chunks = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal });
      const { ChatCompletionStream } = await import("openai/lib/ChatCompletionStream");
      completion = await ChatCompletionStream.fromReadableStream(chunks.toReadableStream()).finalChatCompletion();
    } else {
      completion = await client.chat.completions.create({ ...params, stream: false }, { signal });
    }
  } catch (err) {
    throw rejected(err, (await loadOpenAI()).default.APIError) ?? err;
  }
  const choice = completion.choices[0];
  if (choice === undefined) throw new Error("the model API answered without a choice");
  const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) =>
    c.type === "function" ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
  );
  const usage = completion.usage;
  return {
    message: { role: "assistant", content: choice.message.content ?? null, ...(toolCalls.length ? { toolCalls } : {}) },
    usage: {
      promptTokens: usage?.prompt_tokens ?? 0,
      completionTokens: usage?.completion_tokens ?? 0,
      totalTokens: usage?.total_tokens ?? (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0),
    },
    finishReason: choice.finish_reason ?? "unknown",
  };
}

/** A 4xx other than 408/409/429: the request itself is wrong, retrying cannot help. */
function rejected(err: unknown, apiError: typeof OpenAI.APIError): ProcessFailure | undefined {
  if (!isApiError(err, apiError) || err.status === undefined) return undefined;
  const status = err.status;
  if (status < 400 || status >= 500 || status === 408 || status === 409 || status === 429) return undefined;
  const provider = providerMessage(err) ?? err.message;
  const cls = status === 401 || status === 403 ? "permission_denied" : "invalid_request";
  return new ProcessFailure(cls, "model_request_rejected", `model API answered HTTP ${status}: ${provider}`, {
    raw: { status, error: (err.error ?? null) as never },
  });
}

/** `instanceof` alone types the error's status, headers and body as `any`; this keeps the SDK's declared types. */
function isApiError(err: unknown, apiError: typeof OpenAI.APIError): err is InstanceType<typeof OpenAI.APIError> {
  return err instanceof apiError;
}

function providerMessage(err: InstanceType<typeof OpenAI.APIError>): string | undefined {
  const body: unknown = err.error;
  return typeof body === "object" && body !== null && "message" in body && typeof body.message === "string" ? body.message : undefined;
}
