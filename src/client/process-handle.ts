import type { ProcessAwaitOutput } from "../model/outcome.ts";
import type { ProcessEvent, ProcessRecord } from "../model/record.ts";
import type { CancelResult, CompleteResult, SignalResult, StartResult } from "../model/wire.ts";

export interface EventsOptions {
  /** Only events with a sequence greater than this (default 0: from the start). */
  after?: number;
  /** Keep waiting (a long poll) for new events until the terminal one (`process.completed|failed|cancelled|abandoned`). */
  follow?: boolean;
  /** Stops the iteration (the iterator then throws the signal's reason). */
  signal?: AbortSignal;
  /** Events fetched per request, 1..1000 (default 100). */
  pageSize?: number;
}

/**
 * A process's terminal outcome with `success.value` typed as the body's result
 * `T` (the JSON value it returned); untyped (`unknown`), the plain `ProcessAwaitOutput`.
 */
export type ProcessOutcome<T = unknown> = unknown extends T
  ? ProcessAwaitOutput
  : (Omit<Extract<ProcessAwaitOutput, { type: "success" }>, "value"> & { value: T }) | Exclude<ProcessAwaitOutput, { type: "success" }>;

/**
 * One process, addressed by id: its result, signals, cancellation, status and
 * event log. Built by `LashProcessClient` (`start`, `handle`); `T` is the body's
 * result type when the process was started from a typed definition or ref.
 */
export interface ProcessHandle<T = unknown> {
  readonly id: string;
  /** What `start` answered, when this handle came from `client.start`. */
  readonly started: StartResult | undefined;
  /**
   * Waits for the terminal outcome (success, failure, cancelled or abandoned are
   * all results, not errors). The registry is read first: an unknown id is
   * `not_found` instead of a wait forever, and a finished process answers from
   * its row even after Restate's workflow retention has dropped the run.
   */
  result(opts?: { signal?: AbortSignal }): Promise<ProcessOutcome<T>>;
  /** Requests cancellation; a terminal process answers `alreadyTerminal`. */
  cancel(reason?: string): Promise<CancelResult>;
  /** Sends signal `name` (buffered until the body waits for it); answers its event sequence. */
  signal(name: string, payload?: unknown): Promise<SignalResult>;
  /** The registry row; unknown id -> `not_found`. */
  status(): Promise<ProcessRecord>;
  /** Completes an `external` process from outside (others answer `not_external`). */
  complete(output: ProcessAwaitOutput): Promise<CompleteResult>;
  /**
   * The event log in sequence order. Without `follow` it ends at the last event
   * recorded now; with `follow` it long-polls (`waitMs`) and ends after the terminal event.
   */
  events(opts?: EventsOptions): AsyncGenerator<ProcessEvent, void, undefined>;
}
