/** Restate service and handler names. They are API: never rename. */
export const ServiceNames = {
  workflow: "LashProcessWorkflow",
  recovery: "LashProcessRecovery",
  processes: "LashProcesses",
  /** Virtual object keyed by a limit key (`tool:<name>`, `program:<name>`, `session:<id>`). */
  limiter: "LashConcurrencyLimiter",
} as const;

/** Handlers only lash's own services call (`ingressPrivate`). */
export const PrivateHandlerNames = {
  /** `LashProcessWorkflow/<id>`: recovery wrote the outcome; resolve the promise `awaitTerminal` waits on. */
  releaseAwaiters: "releaseAwaiters",
} as const;

/** Durable promise names inside one `LashProcessWorkflow/<id>`. */
export const PromiseNames = {
  outcome: "outcome",
  external: "external",
  /** The `ordinal`-th signal named `name` (1-based, in send order). */
  signal: (name: string, ordinal: number) => `signal:${name}:${ordinal}`,
} as const;

/**
 * The characters of every name that reaches a workflow key, a URL path or a
 * query: process ids, event types, signal names, registry names.
 */
export const NAME_PATTERN = /^[A-Za-z0-9._:-]+$/;
export const NAME_PATTERN_MESSAGE = "may contain only letters, digits and . _ : -";

/** Where a local Restate server listens by default (the CLI's, the endpoint's and the recovery service's fallback). */
export const DEFAULT_RESTATE_URLS = { ingress: "http://127.0.0.1:8080", admin: "http://127.0.0.1:9070" } as const;
