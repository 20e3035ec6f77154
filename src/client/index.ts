/**
 * `lash-processes/client`: the typed client alone. No `node:` module and no
 * runtime: it runs wherever `fetch` does.
 */
export { LashProcessClient, type LashClientOptions, type StartOptions } from "./lash-process-client.ts";
export type { ProcessHandle, ProcessOutcome, EventsOptions } from "./process-handle.ts";
export { toolRef, programRef, type ProcessRef, type ArgsOf, type ResultOf } from "./process-ref.ts";
export { LashClientError, isLashClientError, type LashClientErrorCode } from "./client-error.ts";
export { TERMINAL_EVENT_TYPES } from "./api.ts";
export * from "../model/wire.ts";
export type { SessionEntry, SessionMessage, TokenUsage } from "../model/session-entry.ts";
