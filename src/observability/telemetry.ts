import { AsyncLocalStorage } from "node:async_hooks";
import type * as Api from "@opentelemetry/api";
import type { ProcessAwaitOutput } from "../model/index.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import type { ActionKind, LashObserver, RunAttemptInfo, RunObservation } from "../runtime/observer.ts";
import { observedRegistry } from "./observed-registry.ts";
import type { LashMetrics } from "./prometheus-metrics.ts";
import type { Tracing } from "./tracing.ts";

export interface TelemetryOptions {
  metrics?: LashMetrics;
  tracing?: Tracing;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The observer the endpoint passes to `createServices`: Prometheus metrics and/or
 * OpenTelemetry spans (either may be absent).
 *
 * Spans and replay: Restate re-executes `run` from the top on every attempt (a retry,
 * or a resume after suspension) and replays finished steps from its journal. So there
 * is one `lash.process.run` span per ATTEMPT (ended when Restate says the attempt is
 * over: returned, failed or suspended), and a `lash.step` span only for a step that
 * really executes (replayed steps are not re-traced; their spans belong to the
 * attempt that ran them). Registry-call spans are children of the step that made them.
 */
export function createTelemetry(opts: TelemetryOptions): LashObserver {
  const { metrics, tracing } = opts;
  /** The span whose children registry calls are (a step or a signal/cancel action). */
  const active = new AsyncLocalStorage<Api.Context>();

  function spanContextOf(raw: string | undefined): Api.SpanContext | undefined {
    const match = raw === undefined ? null : TRACEPARENT.exec(raw.trim());
    if (match === null) return undefined;
    return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true };
  }

  /**
   * The run span's parent: Restate's attempt span when it is in the starter's trace (a
   * direct call with Restate tracing on), else the starter's `traceparent` (forwarded by
   * `LashProcesses.start`), else Restate's. A Restate span not chosen becomes a link.
   */
  function parentOf(info: RunAttemptInfo): { parent: Api.Context; links: Api.Link[] } | undefined {
    if (tracing === undefined) return undefined;
    const { api } = tracing;
    const attemptRaw = info.attemptHeaders.get("traceparent");
    const restateSpan = spanContextOf(typeof attemptRaw === "string" ? attemptRaw : undefined);
    const starter = spanContextOf(info.headers.get("traceparent"));
    const chosen = starter !== undefined && restateSpan?.traceId !== starter.traceId ? starter : (restateSpan ?? starter);
    const links = restateSpan !== undefined && chosen !== restateSpan ? [{ context: restateSpan }] : [];
    return { parent: chosen === undefined ? api.ROOT_CONTEXT : api.trace.setSpanContext(api.ROOT_CONTEXT, chosen), links };
  }

  async function inSpan<T>(name: string, parent: Api.Context | undefined, attributes: Api.Attributes, fn: () => Promise<T>): Promise<T> {
    if (tracing === undefined) return fn();
    const { api, tracer } = tracing;
    const span = tracer.startSpan(name, { attributes }, parent ?? active.getStore() ?? api.ROOT_CONTEXT);
    try {
      return await active.run(api.trace.setSpan(api.ROOT_CONTEXT, span), fn);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  }

  return {
    runAttempt(info: RunAttemptInfo): RunObservation {
      metrics?.runAttempts.inc({ target: info.target });
      const base = { "lash.process.id": info.processId, "lash.process.target": info.target, "restate.invocation.id": info.invocationId };
      const parent = parentOf(info);
      const span = tracing?.tracer.startSpan(`lash.process.run ${info.target}`, { attributes: base, links: parent?.links ?? [] }, parent?.parent);
      const runContext = span && tracing ? tracing.api.trace.setSpan(tracing.api.ROOT_CONTEXT, span) : undefined;
      // The rest of this attempt (its register and complete writes, its steps) runs under the run span.
      if (runContext) active.enterWith(runContext);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        span?.end();
      };
      if (info.attemptDone.aborted) queueMicrotask(end);
      else info.attemptDone.addEventListener("abort", end, { once: true });
      return {
        attempt: (n) => span?.setAttribute("lash.process.attempt", n),
        outcome(output: ProcessAwaitOutput) {
          if (span === undefined || tracing === undefined) return;
          span.setAttribute("lash.process.outcome", output.type);
          if (output.type === "failure") {
            span.setAttributes({ "lash.failure.class": output.class, "lash.failure.code": output.code });
            span.setStatus({ code: tracing.api.SpanStatusCode.ERROR, message: output.message });
          }
        },
        async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
          const started = performance.now();
          let result = "ok";
          try {
            return await inSpan(`lash.step ${name}`, runContext, { ...base, "lash.step.name": name }, fn);
          } catch (err) {
            result = "error";
            throw err;
          } finally {
            metrics?.stepDuration.observe({ target: info.target, result }, (performance.now() - started) / 1000);
          }
        },
      };
    },

    action<T>(kind: ActionKind, processId: string, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T> {
      return inSpan(`lash.${kind}`, undefined, { "lash.process.id": processId, ...attributes }, fn);
    },

    sweepPage(report) {
      if (metrics === undefined) return;
      for (const result of ["submitted", "alreadyActive", "reconciled", "resumed", "skippedExternal"] as const) {
        if (report[result] > 0) metrics.sweepResults.inc({ result }, report[result]);
      }
      if (report.failed.length > 0) metrics.sweepResults.inc({ result: "failed" }, report.failed.length);
    },

    registry(registry: ProcessRegistry): ProcessRegistry {
      metrics?.readFrom(registry);
      if (metrics === undefined && tracing === undefined) return registry;
      return observedRegistry(registry, {
        ...(metrics ? { metrics } : {}),
        call: (method, attributes, fn) => inSpan(`lash.registry ${method}`, undefined, { "lash.registry.method": method, ...attributes }, fn),
      });
    },
  };
}
