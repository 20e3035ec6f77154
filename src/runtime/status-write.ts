import type * as restate from "@restatedev/restate-sdk";
import type { ProcessRegistry } from "../registry/port.ts";
import type { CancelGate } from "./cancel-gate.ts";

/**
 * A run's status writes (`waiting` before it waits for a signal or an external completion,
 * `running` after), made without journal entries of their own: one round trip to
 * restate-server and two journal entries less per transition, so a `waitFor` costs what its
 * promise costs.
 *
 * Why a replay may skip a write: the run awaits it before it issues its next command, so
 * wherever a replay still has journaled commands ahead of it, the first execution wrote it
 * (durably: it is not a deferred write) and the row holds that write or a later one of the
 * same run. Once the replay has caught up with the journal, the write happens again, which
 * `setStatus` allows (the same value again, and never over a terminal status). The SDK's
 * `isProcessing` is what `ctx.console` uses to stay quiet during a replay; it decides no
 * command here, only whether a registry write is repeated. An SDK without it: the write is
 * repeated on every replay, which is correct, only slower.
 *
 * A write that fails fails the run attempt, as a failing `ctx.run` did: `write` then never
 * settles and `failed` rejects with the error, which the run awaits beside the body. The body
 * never sees the error, so it cannot catch it and take a path its replay would not take (the
 * replay skips the write); Restate retries the attempt. Like a durable operation, a write is
 * refused once the run's cancellation was observed (outside a `cleanup`).
 */
export class StatusWrites {
  readonly #ctx: restate.Context;
  readonly #gate: CancelGate;
  readonly #registry: ProcessRegistry;
  readonly #id: string;
  readonly #failure = Promise.withResolvers<never>();

  constructor(ctx: restate.Context, gate: CancelGate, registry: ProcessRegistry, id: string) {
    this.#ctx = ctx;
    this.#gate = gate;
    this.#registry = registry;
    this.#id = id;
    this.#failure.promise.catch(() => {}); // observed by whoever races it; never an unhandled rejection
  }

  /** Rejects with the first failed write (`StatusWriteFailed`): the run attempt fails there. */
  get failed(): Promise<never> {
    return this.#failure.promise;
  }

  async write(status: "running" | "waiting"): Promise<void> {
    this.#gate.refuseIfCancelled();
    if (isReplaying(this.#ctx)) return;
    try {
      await this.#registry.setStatus(this.#id, status);
    } catch (err) {
      this.#failure.reject(new StatusWriteFailed(this.#id, status, err));
      return new Promise<never>(() => {});
    }
  }
}

/** What `failed` rejects with: the attempt ends with it, never the body's outcome. */
class StatusWriteFailed extends Error {
  override name = "StatusWriteFailed";
  constructor(id: string, status: string, cause: unknown) {
    super(`process "${id}": writing status ${status} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

function isReplaying(ctx: restate.Context): boolean {
  const internal = ctx as Partial<restate.internal.ContextInternal>;
  return typeof internal.isProcessing === "function" && !internal.isProcessing();
}
