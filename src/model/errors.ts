/**
 * The error vocabulary of lash-processes: one class with a stable `code`, the
 * HTTP status it maps to at the Restate boundary, and (for validation errors)
 * the path of the offending field. Callers branch on `code`, never on message.
 */
export const ErrorCodes = {
  invalid_input: 400,
  event_type_undeclared: 400,
  event_payload_invalid: 400,
  limit_exceeded: 400,
  not_found: 404,
  registration_conflict: 409,
  replay_conflict: 409,
  process_terminal: 409,
  stale_attempt: 409,
  not_external: 409,
  /** A configured cap (events per process, processes per session) is reached. */
  resource_limit: 409,
  host_profile_mismatch: 409,
  missing_process_execution_id: 400,
  process_key_mismatch: 400,
  durable_store_required: 500,
  unreachable: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class LashError extends Error {
  override name = "LashError";
  readonly code: ErrorCode;
  /** JSON path of the offending field, e.g. `registration.eventTypes.1.name`. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.field = opts.field;
  }

  get httpStatus(): number {
    return ErrorCodes[this.code];
  }

  /** The message as it travels over Restate: `code: message`, parseable by clients. */
  toWire(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Parses a `code: message` wire string back into its code, if it carries one. */
export function codeFromWire(message: string): ErrorCode | undefined {
  const code = /^([a-z_]+):/.exec(message)?.[1];
  return code !== undefined && code in ErrorCodes ? (code as ErrorCode) : undefined;
}

export function isLashError(err: unknown, code?: ErrorCode): err is LashError {
  return err instanceof LashError && (code === undefined || err.code === code);
}
