import type { ProcessAwaitOutput, ProcessEvent, ProcessRecord } from "../model/index.ts";
import { TERMINAL_EVENT_TYPES, type CancelResult, type StartResult } from "./api.ts";
import type { LashProcessClient } from "./lash-process-client.ts";

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

/** How long one `awaitTerminal` request may stay open before it is re-sent (it is idempotent). */
const ATTACH_WINDOW_MS = 60_000;
/** How long one `events` long poll waits for a new event before it is asked again. */
const FOLLOW_WAIT_MS = 20_000;

/** One process, addressed by id: its result, signals, cancellation, status and event log. */
export class ProcessHandle {
  readonly id: string;
  /** What `start` answered, when this handle came from `client.start`. */
  readonly started: StartResult | undefined;
  readonly #client: LashProcessClient;

  constructor(client: LashProcessClient, id: string, started?: StartResult) {
    this.#client = client;
    this.id = id;
    this.started = started;
  }

  /**
   * Waits for the terminal outcome (success, failure, cancelled or abandoned are
   * all results, not errors). The registry is read first: an unknown id is
   * `not_found` instead of a wait forever, and a finished process answers from
   * its row even after Restate's workflow retention has dropped the run.
   */
  async result(opts: { signal?: AbortSignal } = {}): Promise<ProcessAwaitOutput> {
    const record = await this.status();
    if (record.outcome !== undefined) return record.outcome;
    const workflow = this.#client.workflow(this.id);
    for (;;) {
      const window = AbortSignal.timeout(ATTACH_WINDOW_MS);
      const signal = opts.signal ? AbortSignal.any([opts.signal, window]) : window;
      try {
        return await this.#client.call("awaitTerminal", (o) => workflow.awaitTerminal(o), { long: true, signal, empty: true });
      } catch (err) {
        // Our own window closed (not the caller's signal): attach again.
        if (window.aborted && !opts.signal?.aborted) continue;
        throw err;
      }
    }
  }

  /** Requests cancellation; a terminal process answers `alreadyTerminal`. */
  cancel(reason?: string): Promise<CancelResult> {
    const workflow = this.#client.workflow(this.id);
    return this.#client.call("cancel", (o) => workflow.cancel(reason === undefined ? {} : { reason }, o));
  }

  /** Sends signal `name` (buffered until the body waits for it); answers its event sequence. */
  signal(name: string, payload?: unknown): Promise<{ sequence: number }> {
    const workflow = this.#client.workflow(this.id);
    return this.#client.call("signal", (o) => workflow.signal(payload === undefined ? { name } : { name, payload }, o));
  }

  /** The registry row; unknown id -> `not_found`. */
  status(): Promise<ProcessRecord> {
    return this.#client.get(this.id);
  }

  /** Completes an `external` process from outside (others answer `not_external`). */
  complete(output: ProcessAwaitOutput): Promise<CancelResult> {
    const workflow = this.#client.workflow(this.id);
    return this.#client.call("complete", (o) => workflow.complete({ output }, o));
  }

  /**
   * The event log in sequence order. Without `follow` it ends at the last event
   * recorded now; with `follow` it long-polls (`waitMs`) and ends after the terminal event.
   */
  async *events(opts: EventsOptions = {}): AsyncGenerator<ProcessEvent, void, undefined> {
    let after = opts.after ?? 0;
    const limit = opts.pageSize ?? 100;
    let lastRound = false;
    for (;;) {
      opts.signal?.throwIfAborted();
      // Following: a long poll (the service answers as soon as an event is there).
      const waitMs = opts.follow && !lastRound ? FOLLOW_WAIT_MS : undefined;
      const window = waitMs ? AbortSignal.timeout(FOLLOW_WAIT_MS + 30_000) : undefined;
      const signal = opts.signal && window ? AbortSignal.any([opts.signal, window]) : (opts.signal ?? window);
      const page = await this.#client.call(
        "events",
        (o) => this.#client.processes.events({ id: this.id, after, limit, ...(waitMs ? { waitMs } : {}) }, o),
        { ...(signal ? { signal } : {}), ...(waitMs ? { long: true } : {}) },
      );
      for (const event of page.events) {
        yield event;
        after = event.sequence;
        if (opts.follow && TERMINAL_EVENT_TYPES.has(event.type)) return;
      }
      if (page.events.length < limit && (!opts.follow || lastRound)) return;
      // Nothing new although we waited: a terminal process (its terminal event before `after`)
      // answers at once, so look at the row; if it is terminal, read what is left once more.
      if (opts.follow && page.events.length === 0) lastRound = (await this.status()).outcome !== undefined;
    }
  }
}
