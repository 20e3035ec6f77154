import { codeFromWire, type ErrorCode } from "../model/errors.ts";

/**
 * What went wrong, as a stable code: the server's LashError codes
 * (`registration_conflict`, `not_found`, `invalid_input`, …) plus the ones only
 * a client sees:
 * - `unreachable`: no answer from the Restate ingress (connection refused, DNS, timeout);
 * - `not_deployed`: Restate answers but does not know the lash services
 *   (the endpoint is not registered: `lashctl register <uri>`);
 * - `not_restate`: the answer is not Restate's (an empty or HTML body, a
 *   gateway's 502/503/504): the URL is not the ingress (the admin API, a proxy);
 * - `http_error`: any other non-2xx answer without a lash code.
 */
export type LashClientErrorCode = ErrorCode | "not_deployed" | "not_restate" | "http_error";

export class LashClientError extends Error {
  override name = "LashClientError";
  readonly code: LashClientErrorCode;
  /** HTTP status of the answer; absent when there was none (`unreachable`). */
  readonly status: number | undefined;
  /** Dotted path of the offending field for `invalid_input`, e.g. `registration.id`. */
  readonly field: string | undefined;

  constructor(code: LashClientErrorCode, message: string, opts: { status?: number; field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
    this.field = opts.field;
  }
}

export const isLashClientError = (err: unknown, code?: LashClientErrorCode): err is LashClientError =>
  err instanceof LashClientError && (code === undefined || err.code === code);

/** zod failures reported by `restate.serde.schema`: `* (at /registration/id) message`. */
const SCHEMA_FAILURE = /Standard schema validation failed:\s*\n\*\s*(?:\(at ([^)]*)\)\s*)?(.*)/;

/**
 * Turns an error answer of the ingress into a LashClientError. The body is
 * Restate's `{code, message, source}`; a lash handler's message is `code: message`
 * (see `LashError.toWire`), a schema failure carries the JSON pointer of the field.
 */
export function errorFromResponse(status: number, body: string, what: string, url?: string): LashClientError {
  let message = body;
  let source: string | undefined;
  let fromRestate = false;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; source?: unknown };
    if (typeof parsed.message === "string") {
      message = parsed.message;
      fromRestate = true;
    }
    if (typeof parsed.source === "string") source = parsed.source;
  } catch {
    // not JSON: keep the text
  }
  // Restate answers every error with a JSON `{code, message}`; anything else came from something in front of it, or from another port.
  if (!fromRestate) {
    const where = url === undefined ? "the server" : originOf(url);
    const kind = /^\s*</.test(body) ? "an HTML page" : body.trim().length === 0 ? "an empty body" : "a non-Restate body";
    return new LashClientError(
      "not_restate",
      `${what}: HTTP ${status} with ${kind} from ${where}, which is not Restate's ingress (is it the ingress (:8080), not the admin API (:9070) or a proxy?)`,
      { status },
    );
  }
  const schemaFailure = SCHEMA_FAILURE.exec(message);
  if (schemaFailure) {
    const field = pointerToPath(schemaFailure[1] ?? "");
    const detail = (schemaFailure[2] ?? "invalid").trim();
    return new LashClientError("invalid_input", `${field || "input"}: ${detail}`, { status, ...(field ? { field } : {}) });
  }
  const code = codeFromWire(message);
  if (code !== undefined) {
    const text = message.slice(code.length + 1).trim();
    // parseOrThrow-style messages start with the field path: `registration.input.call.tool: unknown tool`.
    const field = code === "invalid_input" ? /^([A-Za-z0-9_.]+):\s/.exec(text)?.[1] : undefined;
    return new LashClientError(code, text, { status, ...(field ? { field } : {}) });
  }
  if (status === 404 && source === "ingress" && /service '.*' not found/.test(message)) {
    return new LashClientError("not_deployed", `${what}: ${message} (is the lash endpoint registered? lashctl register <uri>)`, { status });
  }
  if (status === 400) return new LashClientError("invalid_input", `${what}: ${message}`, { status });
  return new LashClientError("http_error", `${what}: HTTP ${status}: ${message}`, { status });
}

export function unreachable(url: string, cause: unknown): LashClientError {
  const reason = describeCause(cause);
  return new LashClientError("unreachable", `Restate ingress at ${originOf(url)} is unreachable: ${reason}`, { cause });
}

/** `/registration/eventTypes/1/name` -> `registration.eventTypes.1.name` (JSON pointer unescaping). */
function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
}

function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const inner = (err as { cause?: unknown }).cause;
    if (inner instanceof Error) return `${err.message} (${(inner as NodeJS.ErrnoException).code ?? inner.message})`;
    return err.message;
  }
  return String(err);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
