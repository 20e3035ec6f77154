import * as restate from "@restatedev/restate-sdk";
import { LashError } from "../model/index.ts";

/**
 * Service option shared by every lash service: a LashError (validation,
 * conflict, not found) is deterministic, so it ends the call as a TerminalError
 * carrying its HTTP status and `code: message`, instead of being retried.
 */
export const terminalHandlerOptions = {
  asTerminalError: (err: unknown): restate.TerminalError | undefined =>
    err instanceof LashError ? new restate.TerminalError(err.toWire(), { errorCode: err.httpStatus }) : undefined,
};
