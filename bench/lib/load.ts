import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { setTimeout as delay } from "node:timers/promises";
import { isStopping } from "./cleanup.ts";

/**
 * Closed-loop load: `concurrency` workers each send one request, wait for its
 * answer, and send the next, until `maxRequests` were started or `durationMs`
 * passed (both bounds always apply). Latency is per request, submit to answer.
 */
export interface LoadResult {
  latenciesMs: number[];
  completed: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
}

export async function closedLoop(opts: {
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  /** Sends request number `i` and resolves when it is answered; throws on a wrong answer. */
  request: (i: number) => Promise<void>;
}): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  let lastYield = performance.now();
  const worker = async () => {
    while (started < opts.maxRequests && performance.now() < deadline && !isStopping()) {
      // A synchronous `request` (SQLite) never leaves the microtask queue: give timers and signals a turn.
      if (performance.now() - lastYield > 50) {
        lastYield = performance.now();
        await yieldToEventLoop();
        continue; // the bounds may have been reached meanwhile: check them again
      }
      const i = started++;
      const begun = performance.now();
      try {
        await opts.request(i);
        latenciesMs.push(performance.now() - begun);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
        // A failing stack should not spin: back off a little before the next request.
        await delay(10);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const result: LoadResult = { latenciesMs, completed: latenciesMs.length, errors, elapsedMs: performance.now() - t0 };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}
