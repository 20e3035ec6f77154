import type { ProcessAwaitOutput } from "../model/index.ts";
export { targetOf } from "../model/target.ts";
import type { ProcessRegistry } from "../registry/port.ts";

/** What a run attempt is, for metrics labels and span attributes. */
export interface RunAttemptInfo {
  processId: string;
  invocationId: string;
  /** The tool or program name (`session_turn`, `external` for those kinds). */
  target: string;
  /** The invocation's original headers (a starter's `traceparent`). */
  headers: ReadonlyMap<string, string>;
  /** Restate's per-attempt headers (its own trace context when Restate traces). */
  attemptHeaders: ReadonlyMap<string, string | string[] | undefined>;
  /** Fires when this attempt ends: returned, failed, or suspended. */
  attemptDone: AbortSignal;
}

/** One execution attempt of `LashProcessWorkflow/run` (a resume after suspension is a new one). */
export interface RunObservation {
  /** The registry attempt, once the row is read. */
  attempt(n: number): void;
  /** The outcome this attempt wrote or found. */
  outcome(output: ProcessAwaitOutput): void;
  /** Wraps the body of one durable step (called only when the step really executes, never on replay). */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** The kind of a traced handler action outside a run: a signal delivered, a cancel requested. */
export type ActionKind = "signal" | "cancel";

/**
 * Hooks the workflow and services call; implementations (Prometheus metrics,
 * OpenTelemetry traces) live in `src/observability/` and are passed in as a
 * dependency, so the workflow never imports them. Every hook is cheap and
 * must not throw.
 */
export interface LashObserver {
  runAttempt(info: RunAttemptInfo): RunObservation;
  /** Wraps the durable step that records a signal or cancel request (runs once, not on replay). */
  action<T>(kind: ActionKind, processId: string, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T>;
  /** One page of a recovery sweep (counted once: called inside the page's durable step). */
  sweepPage(report: { submitted: number; alreadyActive: number; reconciled: number; resumed: number; skippedExternal: number; failed: unknown[] }): void;
  /** The registry every lash service uses (e.g. wrapped to time and trace its calls). */
  registry(registry: ProcessRegistry): ProcessRegistry;
}

const noRun: RunObservation = { attempt: () => {}, outcome: () => {}, step: (_name, fn) => fn() };

/** Observes nothing. */
export const noopObserver: LashObserver = {
  runAttempt: () => noRun,
  action: (_kind, _id, _attrs, fn) => fn(),
  sweepPage: () => {},
  registry: (registry) => registry,
};
