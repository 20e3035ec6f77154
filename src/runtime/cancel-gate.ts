import * as restate from "@restatedev/restate-sdk";
import { Limits } from "../model/index.ts";

/** Raised inside a process body when its cancellation was observed. */
export class ProcessCancelled extends Error {
  override name = "ProcessCancelled";
  readonly reason: string | undefined;
  constructor(reason: string | undefined) {
    super(reason === undefined ? "process cancelled" : `process cancelled: ${reason}`);
    this.reason = reason;
  }
}

type Graced<T> = { kind: "value"; value: T } | { kind: "grace_over" };

/**
 * Cancellation of a run is Restate's own invocation cancellation: the `cancel` handler,
 * the deadline and an operator's `restate invocations cancel` all cancel the run's
 * invocation, and the body sees a `CancelledError` at its next durable await (no race
 * against a cancel promise, so no journal entries while nobody cancels). The gate turns
 * that into `ProcessCancelled`, fires the body's AbortSignal, and from then on refuses
 * new durable work, except inside `cleanup`, which may run steps for a grace period.
 */
export class CancelGate {
  readonly #ctx: restate.Context;
  /** Created on first use of `signal`: a run that never asks for it (most waiting ones) keeps no AbortController. */
  #controller: AbortController | undefined;
  #tripped: ProcessCancelled | undefined;
  #cleanupDepth = 0;
  #graceMs: number = Limits.cleanupGraceMs;
  #grace: restate.RestatePromise<void> | undefined;
  #graceOver = false;

  constructor(ctx: restate.Context) {
    this.#ctx = ctx;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#tripped !== undefined) this.#controller.abort(this.#tripped);
    }
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#tripped !== undefined;
  }

  /** Marks the process cancelled (idempotent) and aborts in-flight work. */
  trip(): ProcessCancelled {
    const error = new ProcessCancelled(undefined);
    if (this.#tripped === undefined) {
      this.#tripped = error;
      this.#controller?.abort(error);
    }
    return error;
  }

  /**
   * Issues and awaits one durable operation. After the cancellation only `cleanup` may
   * issue new ones, each raced against the grace timer (a RestatePromise race, so it
   * replays deterministically); a CancelledError at the await trips the gate.
   *
   * Not an async function: a run waits inside `guard` most of its life (a suspended
   * `waitFor`), and a promise reaction holds less than a suspended async frame.
   */
  guard<T>(issue: () => restate.RestatePromise<T>): Promise<T> {
    if (this.cancelled) return this.#guardAfterCancel(issue);
    return issue().then(undefined, this.#rethrow);
  }

  /** Throws `ProcessCancelled` where `guard` would refuse new work: cancelled, and not in a `cleanup` that still has grace. */
  refuseIfCancelled(): void {
    if (this.cancelled && (this.#cleanupDepth === 0 || this.#graceOver)) throw new ProcessCancelled(undefined);
  }

  async #guardAfterCancel<T>(issue: () => restate.RestatePromise<T>): Promise<T> {
    this.refuseIfCancelled();
    try {
      this.#grace ??= this.#ctx.sleep(this.#graceMs, "cleanup grace");
      const raced = await restate.RestatePromise.race([
        issue().map((value, failure): Graced<T> => {
          if (failure !== undefined) throw failure;
          return { kind: "value", value: value as T };
        }),
        this.#grace.map((): Graced<T> => ({ kind: "grace_over" })),
      ]);
      if (raced.kind === "value") return raced.value;
      this.#graceOver = true;
      throw new ProcessCancelled("the cleanup grace period is over");
    } catch (err) {
      return this.#rethrow(err);
    }
  }

  /** A CancelledError trips the gate; a second one (e.g. the deadline) during cleanup ends the cleanup. */
  readonly #rethrow = (err: unknown): never => {
    if (err instanceof restate.CancelledError) {
      if (this.cancelled) this.#graceOver = true;
      throw this.trip();
    }
    throw err;
  };

  /**
   * Runs `fn` in a scope whose durable operations still run after the cancellation
   * (Temporal's non-cancellable scope), for at most `graceMs` counted from the first
   * such operation. The outcome stays `cancelled` whatever `fn` returns.
   */
  async cleanup<T>(fn: () => Promise<T> | T, graceMs?: number): Promise<T> {
    if (graceMs !== undefined && this.#grace === undefined) this.#graceMs = Math.min(Math.max(0, graceMs), Limits.cleanupGraceMaxMs);
    this.#cleanupDepth += 1;
    try {
      return await fn();
    } finally {
      this.#cleanupDepth -= 1;
    }
  }
}
