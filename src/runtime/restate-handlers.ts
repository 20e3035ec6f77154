/**
 * The helpers every lash handler definition uses (the workflow and both
 * services), in one place so neither imports the other for them.
 */
import * as restate from "@restatedev/restate-sdk";
import { LashError } from "../model/index.ts";

/**
 * A zod schema as a Restate serde: input is bounded (size, nesting) and validated
 * (400 naming the field), output typed. See `bounded-serde.ts`.
 */
export { boundedJson as json } from "./bounded-serde.ts";

/**
 * For inputs whose fields are all optional: accept a JSON body or none. (An input
 * schema that accepts "nothing" alone makes Restate refuse any body.)
 */
export const OPTIONAL_JSON = "application/json";

/**
 * Service option shared by every lash service: a LashError (validation,
 * conflict, not found) is deterministic, so it ends the call as a TerminalError
 * carrying its HTTP status and `code: message`, instead of being retried.
 */
export const terminalHandlerOptions = {
  asTerminalError: (err: unknown): restate.TerminalError | undefined =>
    err instanceof LashError ? new restate.TerminalError(err.toWire(), { errorCode: err.httpStatus }) : undefined,
};

/** Restate retries a crashed attempt with backoff and pauses (never kills) past the last one. */
export const DEFAULT_RETRY_POLICY: restate.RetryPolicy = {
  initialInterval: 100,
  maxInterval: 10_000,
  exponentiationFactor: 2,
  maxAttempts: 60,
  onMaxAttempts: "pause",
};
