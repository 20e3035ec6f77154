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
} as const;

const utf8 = new TextEncoder();

/** UTF-8 size of the JSON encoding of a value. */
export function jsonSize(value: unknown): number {
  return utf8.encode(JSON.stringify(value) ?? "").length;
}
