/** Restate service and handler names. They are API: never rename. */
export const ServiceNames = {
  workflow: "LashProcessWorkflow",
  recovery: "LashProcessRecovery",
  processes: "LashProcesses",
  /** Virtual object keyed by a limit key (`tool:<name>`, `program:<name>`, `session:<id>`). */
  limiter: "LashConcurrencyLimiter",
} as const;

/** Durable promise names inside one `LashProcessWorkflow/<id>`. */
export const PromiseNames = {
  cancel: "cancel",
  outcome: "outcome",
  external: "external",
  /** The `ordinal`-th signal named `name` (1-based, in send order). */
  signal: (name: string, ordinal: number) => `signal:${name}:${ordinal}`,
} as const;
