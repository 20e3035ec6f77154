/**
 * The helpers every lash handler definition uses (the workflow and both
 * services), in one place so neither imports the other for them.
 */
import * as restate from "@restatedev/restate-sdk";
import type { z } from "zod";
import { LashError } from "../model/index.ts";
import { boundedJson } from "./bounded-serde.ts";

/**
 * A zod schema as a Restate serde: input is bounded (size, nesting) and validated
 * (400 naming the field), output typed. See `bounded-serde.ts`.
 */
export { boundedJson as json } from "./bounded-serde.ts";

/**
 * `json` for the handlers every process goes through (`LashProcessWorkflow`'s, `LashProcesses/start`,
 * the limiter's `acquire`/`release`): validated the same, but the schema is left out of the
 * endpoint's manifest. restate-server (1.7) copies an invoked handler's schemas on every invocation
 * (serde_json map clones in a `perf` profile of it, gone without them): with `run`'s 3.5 KB of
 * schema, restate-server's CPU per 3-step process at concurrency 64 was 1.94-2.00 ms against
 * 1.85-1.92 ms without (three alternating A/B pairs). The shapes are in the README.
 */
export const perProcessJson = <T extends z.ZodType>(schema: T) => boundedJson(schema, { publishSchema: false });

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
