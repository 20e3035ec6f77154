import type { ProcessEvent } from "../model/index.ts";

type Lookup = () => Promise<ProcessEvent | undefined>;

/** setTimeout's largest delay; longer waits are cut to it. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Waits for an event: looks once, then again whenever this process appends an
 * event to the same process id (`notify`), whenever a backend says something
 * may have changed (`notifyAll`), and, for stores other OS processes also write,
 * every `pollMs`. Resolves `undefined` at the timeout; never hangs. The one wait
 * mechanism of every adapter (PostgreSQL feeds it from LISTEN/NOTIFY).
 */
export class EventWaiters {
  readonly #wakers = new Map<string, Set<() => void>>();
  readonly #closers = new Set<(err: Error) => void>();
  readonly #pollMs: number | undefined;
  #closedWith: Error | undefined;

  constructor(opts: { pollMs?: number } = {}) {
    this.#pollMs = opts.pollMs;
  }

  /** Called by the adapter after it commits an event for `processId`. */
  notify(processId: string): void {
    for (const wake of this.#wakers.get(processId) ?? []) wake();
  }

  /** Every pending wait looks again (e.g. after notifications may have been lost). */
  notifyAll(): void {
    for (const wakers of this.#wakers.values()) for (const wake of wakers) wake();
  }

  /** Pending and later waits reject with `err`. Idempotent. */
  close(err: Error): void {
    this.#closedWith ??= err;
    for (const close of [...this.#closers]) close(err);
  }

  async wait(processId: string, timeoutMs: number, lookup: Lookup): Promise<ProcessEvent | undefined> {
    if (this.#closedWith !== undefined) throw this.#closedWith;
    if (!(timeoutMs > 0)) return lookup();
    // The waker is registered before the first lookup, so an append that
    // lands between the lookup and the registration cannot be missed.
    return new Promise((resolve, reject) => {
      let looking = false;
      let again = false;
      let done = false;
      const wakers = this.#wakers.get(processId) ?? new Set();
      this.#wakers.set(processId, wakers);
      const finish = (result: ProcessEvent | undefined, err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (poll !== undefined) clearInterval(poll);
        wakers.delete(wake);
        if (wakers.size === 0 && this.#wakers.get(processId) === wakers) this.#wakers.delete(processId);
        this.#closers.delete(finishClosed);
        if (err !== undefined) reject(err);
        else resolve(result);
      };
      const finishClosed = (err: Error) => finish(undefined, err);
      const wake = () => {
        if (done) return;
        if (looking) {
          again = true;
          return;
        }
        looking = true;
        again = false;
        lookup().then(
          (event) => {
            looking = false;
            if (event !== undefined) finish(event);
            else if (again) wake();
          },
          (err: unknown) => finish(undefined, err instanceof Error ? err : new Error(String(err))),
        );
      };
      wakers.add(wake);
      this.#closers.add(finishClosed);
      const timer = setTimeout(() => finish(undefined), Math.min(timeoutMs, MAX_TIMER_MS));
      const poll = this.#pollMs === undefined ? undefined : setInterval(wake, this.#pollMs);
      wake();
    });
  }
}
