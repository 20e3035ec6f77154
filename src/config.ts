import { z } from "zod";
import { DEFAULT_RESTATE_URLS, DurationText, LashError, NAME_PATTERN, NAME_PATTERN_MESSAGE } from "./model/index.ts";
import { parseMaxConcurrent } from "./runtime/limits.ts";
import type { ModelConfig } from "./runtime/session-turn/model-config.ts";
import { WakeTarget } from "./runtime/wake.ts";

const flag = (fallback: boolean) =>
  z
    .enum(["0", "1", "true", "false"], { message: "must be 0/1 or true/false" })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === "1" || v === "true"));

const httpUrl = (fallback: string) => z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).default(fallback);

/**
 * The endpoint's configuration, read from the environment. Keys are the env
 * variable names, so a bad value fails at start naming its variable.
 */
export const EnvConfig = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(9080),
  /** Interface the endpoint binds; all of them by default (Restate may run on another host). */
  LASH_BIND_HOST: z.string().min(1).optional(),
  LASH_REGISTRY_URL: z.string().min(1).default("sqlite:./.lash/registry.db"),
  /** Key of the `LashProcessRecovery` object for this registry. */
  LASH_REGISTRY_NAME: z.string().regex(NAME_PATTERN, NAME_PATTERN_MESSAGE).default("default"),
  LASH_HOST_PROFILE: z.string().default("default"),
  LASH_DURABILITY: z.enum(["durable", "inline"]).default("durable"),
  /** `Service/handler`: a virtual object keyed by the owner's session id. */
  LASH_WAKE_TARGET: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "must look like Service/handler")
    .transform((s) => {
      const [service, handler] = s.split("/") as [string, string];
      return WakeTarget.parse({ service, handler });
    })
    .optional(),
  LASH_ENABLE_SHELL: flag(false),
  /** `std.steps` (a test tool that writes files); `lashctl dev` sets it. */
  LASH_ENABLE_TEST_TOOLS: flag(false),
  /** Comma list of hosts `std.http` may reach although they resolve to loopback, link-local or private addresses. */
  LASH_HTTP_ALLOW: z
    .string()
    .optional()
    .transform((s) =>
      (s ?? "")
        .split(",")
        .map((h) => h.trim())
        .filter((h) => h.length > 0),
    ),
  LASH_RECOVER_ON_START: flag(true),
  LASH_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).optional(),
  /** Concurrency limits: comma list of `<tool or program>=N` and `session=N`, e.g. `std.http=8,session=4`. */
  LASH_MAX_CONCURRENT: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === "") return undefined;
      try {
        return parseMaxConcurrent(s);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Retention: scheduled recovery sweeps prune finished processes older than this (e.g. `30d`); unset keeps everything. */
  LASH_RETENTION: DurationText.optional(),
  /** Signals are refused (409 resource_limit) once a process holds this many events. */
  LASH_MAX_EVENTS_PER_PROCESS: z.coerce.number().int().min(10).default(10_000),
  /** New registrations are refused (409 resource_limit) while a session has this many live (non-terminal) processes. */
  LASH_MAX_PROCESSES_PER_SESSION: z.coerce.number().int().min(1).default(10_000),
  RESTATE_ADMIN_URL: httpUrl(DEFAULT_RESTATE_URLS.admin),
  RESTATE_INGRESS_URL: httpUrl(DEFAULT_RESTATE_URLS.ingress),
  /** Port of the Prometheus endpoint (`GET /metrics`); unset: no metrics server. Binds LASH_BIND_HOST. */
  LASH_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** `text` (default) or `json`: one JSON object a line (level, time, message, processId). */
  LASH_LOG_FORMAT: z.enum(["text", "json"]).default("text"),
  /** Standard OpenTelemetry variables (see docs/observability.md); the OTLP exporter reads them too. */
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(["http/protobuf", "http/json", "grpc"]).optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  /** An OpenAI-compatible chat-completions API (e.g. `http://127.0.0.1:11434/v1`): turns on the built-in session-turn runner. */
  LASH_MODEL_BASE_URL: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  /** The model the built-in runner asks (required with LASH_MODEL_BASE_URL). */
  LASH_MODEL: z.string().min(1).optional(),
  LASH_MODEL_API_KEY: z.string().min(1).optional(),
  /** Comma list of catalog tools the model may call (`lashctl tools`); nothing else is offered. */
  LASH_TURN_TOOLS: z
    .string()
    .optional()
    .transform(
      (s) =>
        s
          ?.split(",")
          .map((t) => t.trim())
          .filter((t) => t.length > 0) ?? [],
    ),
  /** Comma-separated `publickeyv1_…` keys: requests must be signed by Restate. */
  RESTATE_IDENTITY_KEYS: z
    .string()
    .optional()
    .transform((s) =>
      s
        ?.split(",")
        .map((k) => k.trim())
        .filter((k) => k.length > 0),
    ),
});
export type EnvConfig = z.infer<typeof EnvConfig>;

/** The built-in session-turn runner's model settings, when `LASH_MODEL_BASE_URL` is set. */
export function modelConfigOf(config: EnvConfig): ModelConfig | undefined {
  if (config.LASH_MODEL_BASE_URL === undefined) return undefined;
  if (config.LASH_MODEL === undefined) {
    throw new LashError("invalid_input", "LASH_MODEL: required when LASH_MODEL_BASE_URL is set (the model to ask, e.g. gpt-4o-mini)", { field: "LASH_MODEL" });
  }
  return {
    baseUrl: config.LASH_MODEL_BASE_URL,
    model: config.LASH_MODEL,
    tools: config.LASH_TURN_TOOLS,
    ...(config.LASH_MODEL_API_KEY ? { apiKey: config.LASH_MODEL_API_KEY } : {}),
  };
}

export function readEnvConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const result = EnvConfig.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0]);
  throw new LashError("invalid_input", `${variable}: ${issue.message} (got ${JSON.stringify(redactCredentials(env[variable]))})`, { field: variable });
}

/** A value as it may be echoed in an error: `user:password@` in anything URL-like becomes `***@`. */
export function redactCredentials(value: string | undefined): string | undefined {
  return value?.replace(/^([^@/\s]*:\/\/|\/\/)?[^@/\s]+@/, (_m, scheme: string | undefined) => `${scheme ?? ""}***@`);
}
