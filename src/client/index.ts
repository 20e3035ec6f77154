export { LashProcessClient, type LashClientOptions } from "./lash-process-client.ts";
export { ProcessHandle, type EventsOptions } from "./process-handle.ts";
export { LashClientError, isLashClientError, type LashClientErrorCode } from "./client-error.ts";
export {
  TERMINAL_EVENT_TYPES,
  type CancelResult,
  type CatalogEntry,
  type SessionEntry,
  type ListFilter,
  type ProcessPage,
  type ScheduleResult,
  type StartResult,
  type SweepReport,
} from "./api.ts";
