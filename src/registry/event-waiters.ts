import type { ProcessEvent } from "../model/index.ts";

type Lookup = () => Promise<ProcessEvent | undefined>;

/**
 * Waits for an event: looks once, then again whenever this process appends an
 * event to the same process id, and (for stores other OS processes also write)
 * every `pollMs`. Resolves `undefined` at the timeout; never hangs.
 */
export class EventWaiters {
  readonly #wakers = new Map<string, Set<() => void>>();
  readonly #pollMs: number | undefined;

  constructor(opts: { pollMs?: number } = {}) {
    this.#pollMs = opts.pollMs;
  }

  /** Called by the adapter after it commits an event for `processId`. */
  notify(processId: string): void {
    for (const wake of this.#wakers.get(processId) ?? []) wake();
  }

  async wait(processId: string, timeoutMs: number, lookup: Lookup): Promise<ProcessEvent | undefined> {
    if (timeoutMs <= 0) return lookup();
    // The waker is registered before the first lookup, so an append that
    // lands between the lookup and the registration cannot be missed.
    return new Promise((resolve, reject) => {
      let looking = false;
      let again = false;
      let done = false;
      const wakers = this.#wakers.get(processId) ?? new Set();
      this.#wakers.set(processId, wakers);
      const finish = (result: ProcessEvent | undefined, err?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (poll !== undefined) clearInterval(poll);
        wakers.delete(wake);
        if (wakers.size === 0) this.#wakers.delete(processId);
        if (err !== undefined) reject(err);
        else resolve(result);
      };
      const wake = () => {
        if (looking) {
          again = true;
          return;
        }
        looking = true;
        lookup().then(
          (event) => {
            looking = false;
            if (event !== undefined) finish(event);
            else if (again) {
              again = false;
              wake();
            }
          },
          (err: unknown) => finish(undefined, err),
        );
      };
      wakers.add(wake);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const poll = this.#pollMs === undefined ? undefined : setInterval(wake, this.#pollMs);
      wake();
    });
  }
}
