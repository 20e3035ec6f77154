import type { CompleteResult, ProcessRegistry, RegisterResult } from "../registry/port.ts";
import { targetOf } from "../runtime/observer.ts";
import type { LashMetrics } from "./prometheus-metrics.ts";

export interface RegistryObserver {
  metrics?: LashMetrics;
  /** Wraps one call (a span). */
  call<T>(method: string, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T>;
}

/** Methods timed and traced; `close` and the properties pass through. */
const TIMED = [
  "register",
  "get",
  "markAwaited",
  "markStarted",
  "setStatus",
  "recordRetry",
  "appendEvent",
  "countEvents",
  "complete",
  "eventsAfter",
  "waitEventAfter",
  "listNonTerminal",
  "list",
] as const satisfies readonly (keyof ProcessRegistry)[];

/**
 * A decorator around any ProcessRegistry adapter: times every call
 * (`lash_registry_call_duration_seconds`), wraps it in a span, and counts the
 * processes this endpoint registered (`register` that created a row) and the
 * outcomes it wrote (`complete` that applied). The adapters stay untouched.
 */
export function observedRegistry(inner: ProcessRegistry, observer: RegistryObserver): ProcessRegistry {
  const { metrics } = observer;
  const timed = new Set<string | symbol>(TIMED);
  const wrappers = new Map<string | symbol, (...args: unknown[]) => Promise<unknown>>();
  const wrap =
    (method: string, original: (...args: unknown[]) => Promise<unknown>) =>
    async (...args: unknown[]) => {
      const attributes: Record<string, string> = typeof args[0] === "string" ? { "lash.process.id": args[0] } : {};
      const started = performance.now();
      let result = "ok";
      try {
        const value = await observer.call(method, attributes, () => original(...args));
        if (metrics !== undefined) count(metrics, method, value);
        return value;
      } catch (err) {
        result = "error";
        throw err;
      } finally {
        metrics?.registryCallDuration.observe({ method, result }, (performance.now() - started) / 1000);
      }
    };
  // A proxy, so a method added to the port later passes through untimed instead of going missing.
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (!timed.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      let wrapper = wrappers.get(prop);
      if (wrapper === undefined) {
        wrapper = wrap(String(prop), (value as (...a: unknown[]) => Promise<unknown>).bind(target));
        wrappers.set(prop, wrapper);
      }
      return wrapper;
    },
  });
}

/** Processes this endpoint registered (a `register` that created the row) and outcomes it wrote (an applied `complete`). */
function count(metrics: LashMetrics, method: string, value: unknown): void {
  if (method === "register") {
    const done = value as RegisterResult;
    if (done.created) metrics.started.inc({ target: targetOf(done.record.input), kind: done.record.input.type });
  } else if (method === "complete") {
    const done = value as CompleteResult;
    if (done.disposition === "applied") metrics.terminal.inc({ target: targetOf(done.record.input), outcome: done.outcome.type });
  }
}
