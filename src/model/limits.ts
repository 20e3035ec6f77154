/** Every size has a limit; the error names the field that broke it. */
export const Limits = {
  processIdMaxLength: 200,
  /** Serialized `registration.input` (tool args, program args, metadata). */
  inputMaxBytes: 256 * 1024,
  /** Serialized payload of one event (signals, emitted events, outcomes). */
  eventPayloadMaxBytes: 64 * 1024,
  /** Serialized terminal outcome (a success value lives in the terminal event). */
  outcomeMaxBytes: 256 * 1024,
  /** Serialized result of one durable step: large values belong in an external store. */
  stepResultMaxBytes: 1024 * 1024,
  eventTypesMax: 256,
  eventTypeNameMaxLength: 200,
  pageMax: 1000,
  /** A read page (`list`, `events`) is cut once its items pass this many bytes, far below Restate's 32 MiB message limit. */
  pageMaxBytes: 4 * 1024 * 1024,
  /** Nesting depth of any JSON value a handler accepts, checked before schema validation (deeper input would overflow the stack). */
  jsonDepthMax: 64,
  /** Serialized body of one handler call, checked before schema validation. */
  requestMaxBytes: 2 * 1024 * 1024,
  pageDefault: 100,
  maxAttemptsMax: 100,
  defaultMaxAttempts: 3,
  /** `registration.timeoutMs` at most a year. */
  timeoutMaxMs: 366 * 24 * 3600 * 1000,
  /**
   * A cancel for an id that is not registered yet is kept this long (cancel-before-start):
   * a start within it ends `cancelled` without running; after it the request is gone.
   */
  cancelBeforeStartTtlMs: 3600 * 1000,
  /** How long `ctx.cleanup` may run durable steps after the cancellation was observed (default and cap). */
  cleanupGraceMs: 30_000,
  cleanupGraceMaxMs: 10 * 60 * 1000,
  /**
   * How long one value may take to evaluate against a caller's JSON Schema that runs
   * regular expressions (`pattern`, `patternProperties`, some `format`s): that check runs
   * in a worker thread (see `registry/schema-checker.ts`) and is stopped at this limit.
   */
  schemaCheckTimeMs: 1000,
  /** How long such a check may wait for the worker (behind others) before it is refused as busy (503, try again). */
  schemaCheckWaitMs: 10_000,
} as const;

const utf8 = new TextEncoder();

/** UTF-8 size of the JSON encoding of a value. */
export function jsonSize(value: unknown): number {
  return utf8.encode(JSON.stringify(value) ?? "").length;
}
