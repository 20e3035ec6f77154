/** Restate service and handler names. They are API: never rename. */
export const ServiceNames = {
  workflow: "LashProcessWorkflow",
  recovery: "LashProcessRecovery",
  processes: "LashProcesses",
} as const;

/** Durable promise names inside one `LashProcessWorkflow/<id>`. */
export const PromiseNames = {
  outcome: "outcome",
  external: "external",
  /** The `ordinal`-th signal named `name` (1-based, in send order). */
  signal: (name: string, ordinal: number) => `signal:${name}:${ordinal}`,
} as const;
