import { z } from "zod";

/** How the built-in session-turn runner reaches its model (from `LASH_MODEL_*`, or given by a host). */
export const ModelConfig = z.object({
  /** An OpenAI-compatible API root, e.g. `http://127.0.0.1:11434/v1` (Ollama) or `https://api.openai.com/v1`. */
  baseUrl: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  /** Many local servers need none; a placeholder is sent then. */
  apiKey: z.string().optional(),
  /** Catalog tools the model may call (nothing else is offered). */
  tools: z.array(z.string().min(1)).default([]),
  /** Ask for a streamed answer (SSE), assembled inside the durable step. Default false. */
  stream: z.boolean().default(false),
  /** Model calls per turn before `failure{resource_limit, turn_iterations_exhausted}`. */
  maxIterations: z.number().int().min(1).max(1000).default(16),
  /** Total tokens (all model calls) per turn before `failure{resource_limit, turn_tokens_exhausted}`. */
  maxTokens: z.number().int().min(1).default(200_000),
  /** Retries of a 429, 5xx or connection error inside one model-call step (backoff, honouring Retry-After). */
  maxRetries: z.number().int().min(0).max(20).default(4),
  /** Timeout of one HTTP request to the model. */
  requestTimeoutMs: z.number().int().min(1).default(600_000),
});
export type ModelConfig = z.input<typeof ModelConfig>;
export type ResolvedModelConfig = z.output<typeof ModelConfig>;
