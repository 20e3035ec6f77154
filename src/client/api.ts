/**
 * The lash services as the ingress client sees them: handler signatures in the
 * SDK's `(ctx, input) => Promise<output>` form (so the typed ingress client
 * infers them), every input and output derived from the wire schemas in
 * `src/model/wire.ts` that the server validates with. Inputs are the schemas'
 * input types (defaults may be left out), outputs their parsed types.
 */
import type { ProcessAwaitOutput } from "../model/outcome.ts";
import type { ProcessRecord } from "../model/record.ts";
import type {
  CancelInput,
  CancelResult,
  CompleteInput,
  CompleteResult,
  EventsInput,
  EventsPage,
  GetInput,
  ListFilter,
  ProcessPage,
  PruneInput,
  PruneResult,
  ScheduleInput,
  ScheduleResult,
  SignalInput,
  SignalResult,
  StartInput,
  StartResult,
  SweepInput,
  SweepReport,
  UnscheduleResult,
  CatalogOutput,
  SessionInput,
  SessionOutput,
} from "../model/wire.ts";

type Handler<I, O> = (ctx: unknown, input: I) => Promise<O>;
type NoInputHandler<O> = (ctx: unknown) => Promise<O>;

export interface LashProcessesApi {
  start: Handler<StartInput, StartResult>;
  get: Handler<GetInput, ProcessRecord>;
  list: Handler<ListFilter, ProcessPage>;
  events: Handler<EventsInput, EventsPage>;
  tools: NoInputHandler<CatalogOutput>;
  session: Handler<SessionInput, SessionOutput>;
}

export interface LashProcessWorkflowApi {
  cancel: Handler<NonNullable<CancelInput>, CancelResult>;
  signal: Handler<SignalInput, SignalResult>;
  awaitTerminal: NoInputHandler<ProcessAwaitOutput>;
  status: NoInputHandler<ProcessRecord>;
  complete: Handler<CompleteInput, CompleteResult>;
}

export interface LashProcessRecoveryApi {
  sweep: Handler<NonNullable<SweepInput>, SweepReport>;
  prune: Handler<PruneInput, PruneResult>;
  schedule: Handler<ScheduleInput, ScheduleResult>;
  unschedule: NoInputHandler<UnscheduleResult>;
}

/** Event types that end a process: the last event of its log. */
export { TERMINAL_EVENT_TYPES } from "../model/record.ts";
