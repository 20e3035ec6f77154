import * as restate from "@restatedev/restate-sdk";

export interface CancelRequest {
  reason?: string;
}

/** Raised inside a process body when its cancellation was observed. */
export class ProcessCancelled extends Error {
  override name = "ProcessCancelled";
  readonly reason: string | undefined;
  constructor(reason: string | undefined) {
    super(reason === undefined ? "process cancelled" : `process cancelled: ${reason}`);
    this.reason = reason;
  }
}

type Raced<T> = { kind: "value"; value: T } | { kind: "cancel"; request: CancelRequest };

/**
 * Races every durable await of a body against the workflow's `cancel` durable
 * promise. Both sides are RestatePromises, so the race replays deterministically;
 * no polling. The first observed cancellation fires the body's AbortSignal.
 */
export class CancelGate {
  readonly #controller = new AbortController();
  readonly #request: restate.RestatePromise<CancelRequest>;
  #reason: string | undefined;

  constructor(request: restate.RestatePromise<CancelRequest>) {
    this.#request = request;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  /** Marks the process cancelled (idempotent) and aborts in-flight work. */
  trip(reason: string | undefined): ProcessCancelled {
    if (!this.cancelled) {
      this.#reason = reason;
      this.#controller.abort(new ProcessCancelled(reason));
    }
    return new ProcessCancelled(this.#reason);
  }

  /** Awaits `promise` unless cancellation comes first; then throws ProcessCancelled. */
  async guard<T>(promise: restate.RestatePromise<T>): Promise<T> {
    if (this.cancelled) throw new ProcessCancelled(this.#reason);
    let raced: Raced<T>;
    try {
      raced = await restate.RestatePromise.race([
        promise.map((value, failure): Raced<T> => {
          if (failure !== undefined) throw failure;
          return { kind: "value", value: value as T };
        }),
        this.#request.map((request, failure): Raced<T> => {
          if (failure !== undefined) throw failure;
          return { kind: "cancel", request: request ?? {} };
        }),
      ]);
    } catch (err) {
      // An operator's `restate invocations cancel` surfaces here as CancelledError.
      if (err instanceof restate.CancelledError) throw this.trip("cancelled by operator");
      throw err;
    }
    if (raced.kind === "cancel") throw this.trip(raced.request.reason);
    return raced.value;
  }
}
