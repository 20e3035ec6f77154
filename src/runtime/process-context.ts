import * as restate from "@restatedev/restate-sdk";
import {
  Limits,
  PromiseNames,
  isLashError,
  ServiceNames,
  jsonSize,
  type EventTypeDecl,
  type ProcessAwaitOutput,
  type ProcessEvent,
  type ProcessInput,
  type ProcessRecord,
  type ProcessRegistration,
} from "../model/index.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import { prepareRegistration } from "../registry/rules.ts";
import { ProcessCancelled, type CancelGate } from "./cancel-gate.ts";
import type { RunObservation } from "./observer.ts";
import { ProcessFailure } from "./process-failure.ts";
import type { StatusWrites } from "./status-write.ts";
import { sendWake, type WakeTarget } from "./wake.ts";
import type { ProcessWorkflow } from "../workflows/process-workflow.ts";

/** Typed clients of `LashProcessWorkflow` by name (the definition itself is built from this runtime). */
const WORKFLOW = { name: ServiceNames.workflow };

/** Retry of one step; past `maxAttempts` the process fails with `step_failed`. */
export interface StepRetry {
  maxAttempts?: number;
  initialIntervalMs?: number;
  maxIntervalMs?: number;
}

/** Default: 10 attempts, 100 ms doubling to at most 10 s (about a minute in all). */
export const DEFAULT_STEP_RETRY: Required<StepRetry> = { maxAttempts: 10, initialIntervalMs: 100, maxIntervalMs: 10_000 };

export type SignalResult<T = unknown> = { timedOut: false; payload: T; sequence: number } | { timedOut: true };

/** What the signal handler resolves a signal's durable promise with. */
export interface SignalDelivery {
  payload: unknown;
  sequence: number;
}

/** What happens to a child still live when its parent reaches a terminal outcome. */
export type ParentClosePolicy = "cancel" | "abandon";

export interface ChildSpec {
  /**
   * Defaults to `<parentId>.<n>` (n counts the children this body started). If another
   * registration already holds that id (someone claimed it first), the child takes
   * `<parentId>.<n>-<random>` instead, so a claimed id never blocks the parent.
   */
  id?: string;
  input: ProcessInput;
  eventTypes?: EventTypeDecl[];
  maxAttempts?: number;
  /** The child's own deadline; it never outlives its parent's: it gets the shorter of this and the parent's remaining time. */
  timeoutMs?: number;
  /** `cancel` (default): cancelled (recursively) when the parent ends, however it ends. `abandon`: lives on. */
  parentClosePolicy?: ParentClosePolicy;
}

/** A child this body started, for the parent-close policy. */
export interface ChildRef {
  id: string;
  policy: ParentClosePolicy;
  /** The body saw its terminal outcome (`result()` returned): nothing left to cancel. */
  settled: boolean;
}

export interface ChildHandle {
  readonly id: string;
  /** Suspends durably until the child is terminal. */
  result(): Promise<ProcessAwaitOutput>;
  cancel(reason?: string): void;
}

export interface ProcessLog {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * What a tool or program body sees: Temporal-style durable primitives over one
 * Restate workflow invocation. Every await is raced against cancellation.
 */
export interface ProcessContext<A = unknown> {
  readonly processId: string;
  readonly args: A;
  readonly attempt: number;
  /** Fires when the process is cancelled; pass it to fetch, child processes, … */
  readonly signal: AbortSignal;
  /** Journaled side effect: runs once, its result replayed after a crash. */
  step<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T, retry?: StepRetry): Promise<T>;
  /** A durable timer: survives restarts, costs nothing while it waits. */
  sleep(ms: number): Promise<void>;
  /** Appends an event of a declared type to the process's log (waking the owner if declared so). */
  emit(type: string, payload?: unknown): Promise<ProcessEvent>;
  /** The next unconsumed signal `name`, in send order; a signal sent earlier is not lost. */
  waitFor<T = unknown>(name: string, opts?: { timeoutMs?: number }): Promise<SignalResult<T>>;
  /** Registers a child process (inheriting the owner scope) and starts it exactly once. */
  start(child: ChildSpec): Promise<ChildHandle>;
  /** Deterministic wall-clock time (journaled). */
  now(): Promise<number>;
  /** Deterministic UUID v4 (seeded by the invocation). */
  uuid(): string;
  /**
   * After the cancellation was observed (a ProcessCancelled was thrown, `signal` fired),
   * durable operations are refused, except inside `cleanup(fn)`: there steps, sleeps and
   * emits still run, for at most `graceMs` (default 30 s, at most 10 min) from the first
   * one. The outcome stays `cancelled` whatever the body returns afterwards.
   */
  cleanup<T>(fn: () => Promise<T> | T, opts?: { graceMs?: number }): Promise<T>;
  readonly log: ProcessLog;
}

export interface ProcessContextDeps {
  ctx: restate.WorkflowContext;
  registry: ProcessRegistry;
  record: ProcessRecord;
  args: unknown;
  gate: CancelGate;
  /** The run's `waiting`/`running` writes (not journaled; see status-write.ts). */
  statusWrites: StatusWrites;
  wakeTarget: WakeTarget | undefined;
  /** Metrics and trace hooks of this run attempt. */
  observed?: RunObservation;
}

type StepEnvelope<T> = { value: T } | { failure: ReturnType<ProcessFailure["toOutput"]> } | { aborted: true };

export class DurableProcessContext<A = unknown> implements ProcessContext<A> {
  readonly #deps: ProcessContextDeps;
  readonly #signalsConsumed = new Map<string, number>();
  readonly #children: ChildRef[] = [];
  #emitted = 0;

  constructor(deps: ProcessContextDeps) {
    this.#deps = deps;
  }

  get processId(): string {
    return this.#deps.record.id;
  }
  get args(): A {
    return this.#deps.args as A;
  }
  get attempt(): number {
    return this.#deps.record.attempt;
  }
  get signal(): AbortSignal {
    return this.#deps.gate.signal;
  }
  get log(): ProcessLog {
    return this.#deps.ctx.console;
  }
  /** The children this body started, for the parent-close policy. */
  get children(): readonly ChildRef[] {
    return this.#children;
  }

  async step<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T, retry: StepRetry = {}): Promise<T> {
    const policy = { ...DEFAULT_STEP_RETRY, ...retry };
    // A cleanup step (after the cancellation) gets a signal of its own, not the fired one.
    const signal = this.#deps.gate.cancelled ? new AbortController().signal : this.signal;
    const action = async (): Promise<StepEnvelope<T>> => {
      try {
        const value = await fn(signal);
        const size = jsonSize(value);
        if (size > Limits.stepResultMaxBytes) {
          const message = `step "${name}" returned ${size} bytes; the limit is ${Limits.stepResultMaxBytes} (keep large values in an external store)`;
          return { failure: new ProcessFailure("resource_limit", "step_result_too_large", message).toOutput() };
        }
        return { value };
      } catch (err) {
        // An aborted step resolves instead of throwing: a rejection after the
        // cancel race was decided would make Restate replay the attempt.
        if (signal.aborted) return { aborted: true };
        if (err instanceof ProcessFailure) return { failure: err.toOutput() };
        throw err;
      }
    };
    let envelope: StepEnvelope<T>;
    try {
      envelope = await this.#deps.gate.guard(() =>
        this.#deps.ctx.run(name, () => (this.#deps.observed ? this.#deps.observed.step(name, action) : action()), {
          maxRetryAttempts: policy.maxAttempts,
          initialRetryInterval: policy.initialIntervalMs,
          maxRetryInterval: policy.maxIntervalMs,
        }),
      );
    } catch (err) {
      if (err instanceof restate.TerminalError && !(err instanceof restate.CancelledError)) {
        throw new ProcessFailure("execution", "step_failed", `step "${name}" failed: ${err.message}`, { cause: err });
      }
      throw err;
    }
    if ("failure" in envelope) throw ProcessFailure.fromOutput(envelope.failure);
    if ("aborted" in envelope) throw new ProcessCancelled(undefined);
    return envelope.value;
  }

  async sleep(ms: number): Promise<void> {
    await this.#deps.gate.guard(() => this.#deps.ctx.sleep(ms, "sleep"));
  }

  async emit(type: string, payload: unknown = null): Promise<ProcessEvent> {
    const { ctx, registry, record } = this.#deps;
    const replayKey = `${ctx.request().id}:emit:${++this.#emitted}`;
    const event = await this.#deps.gate.guard(() => ctx.run(`emit ${type}`, () => registry.appendEvent(record.id, { type, payload, replayKey })));
    sendWake(ctx, this.#deps.wakeTarget, record, event);
    return event;
  }

  async waitFor<T = unknown>(name: string, opts: { timeoutMs?: number } = {}): Promise<SignalResult<T>> {
    const { ctx, gate, statusWrites } = this.#deps;
    const ordinal = (this.#signalsConsumed.get(name) ?? 0) + 1;
    await statusWrites.write("waiting");
    // `undefined`: the timeout won. Combinators journal nothing, so a wait without a timeout
    // (most of them) awaits the promise alone and keeps no race or mapping alive meanwhile.
    const delivery = await gate.guard((): restate.RestatePromise<SignalDelivery | undefined> => {
      const signal = ctx.promise<SignalDelivery>(PromiseNames.signal(name, ordinal)).get();
      if (opts.timeoutMs === undefined) return signal;
      return restate.RestatePromise.race([signal, ctx.sleep(opts.timeoutMs, `waitFor ${name} timeout`).map(() => undefined)]);
    });
    await statusWrites.write("running");
    if (delivery === undefined) return { timedOut: true };
    this.#signalsConsumed.set(name, ordinal);
    return { timedOut: false, payload: delivery.payload as T, sequence: delivery.sequence };
  }

  async start(child: ChildSpec): Promise<ChildHandle> {
    const { ctx, registry, record, gate } = this.#deps;
    const n = this.#children.length;
    const parentDeadline = record.timeoutMs === undefined ? undefined : record.createdAtMs + record.timeoutMs;
    // What must not change on a retry is journaled: the clock, for an inherited deadline (the fallback id comes from ctx.rand).
    const nowMs = parentDeadline === undefined ? undefined : await gate.guard(() => ctx.run(`child ${n} clock`, () => Date.now()));
    const timeoutMs = childTimeout(child.timeoutMs, parentDeadline, nowMs);
    const spec: Omit<ProcessRegistration, "id"> = {
      input: child.input,
      eventTypes: child.eventTypes ?? [],
      provenance: {
        ownerScope: record.provenance.ownerScope,
        hostProfileId: record.provenance.hostProfileId,
        causedBy: { kind: "process", id: record.id },
      },
      maxAttempts: child.maxAttempts ?? Limits.defaultMaxAttempts,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
    // `<parentId>.<n>` unless the caller named it. Someone may have claimed that id first
    // (registered other content under it): the child then takes `<parentId>.<n>-<random>`
    // instead of failing the parent. The random part comes from Restate's deterministic
    // `ctx.rand` (seeded by the run's invocation), so a replay picks the same id.
    const preferred = child.id ?? `${record.id}.${n}`;
    const fallback = `${record.id}.${n}-${ctx.rand.uuidv4().replaceAll("-", "").slice(0, 12)}`;
    const policy = child.parentClosePolicy ?? "cancel";
    let id: string;
    try {
      id = await gate.guard(() =>
        ctx.run(`register child ${n}`, async () => {
          try {
            await registry.register({ ...spec, id: preferred });
            return preferred;
          } catch (err) {
            if (child.id !== undefined || !isLashError(err, "registration_conflict")) throw err;
          }
          await registry.register({ ...spec, id: fallback });
          return fallback;
        }),
      );
    } catch (err) {
      if (err instanceof ProcessCancelled) await this.#adoptHalfStarted(n, spec, [preferred, fallback], policy);
      throw err;
    }
    return this.#childHandle(this.#launch({ ...spec, id }, policy));
  }

  /** Sends the child's run and records it for the parent-close policy. */
  #launch(registration: ProcessRegistration, policy: ChildRef["policy"]): ChildRef {
    this.#deps.ctx.workflowSendClient<ProcessWorkflow>(WORKFLOW, registration.id).run({ registration });
    const ref: ChildRef = { id: registration.id, policy, settled: false };
    this.#children.push(ref);
    return ref;
  }

  /**
   * The parent was cancelled while registering a child: the registration may have
   * happened all the same. Such a child is found (by its content) and launched, so the
   * parent-close policy reaches it (it then ends cancelled before it starts) instead
   * of a row that waits for the recovery sweep to start it, orphaned.
   */
  async #adoptHalfStarted(n: number, spec: Omit<ProcessRegistration, "id">, candidates: string[], policy: ChildRef["policy"]): Promise<void> {
    const { ctx, registry } = this.#deps;
    const found = await ctx.run(`find child ${n}`, async () => {
      for (const id of candidates) {
        const row = await registry.get(id);
        if (row !== undefined && row.registrationHash === prepareRegistration({ ...spec, id }).hash) return id;
      }
      return null;
    });
    if (found !== null) this.#launch({ ...spec, id: found }, policy);
  }

  #childHandle(ref: ChildRef): ChildHandle {
    const { ctx, gate } = this.#deps;
    return {
      id: ref.id,
      result: async () => {
        const output = await gate.guard(() =>
          ctx.workflowClient<ProcessWorkflow>(WORKFLOW, ref.id).awaitTerminal(restate.rpc.opts({ input: restate.serde.empty })),
        );
        ref.settled = true;
        return output;
      },
      cancel: (reason?: string) => cancelProcess(ctx, ref.id, reason),
    };
  }

  now(): Promise<number> {
    return this.#deps.ctx.date.now();
  }

  uuid(): string {
    return this.#deps.ctx.rand.uuidv4();
  }

  cleanup<T>(fn: () => Promise<T> | T, opts: { graceMs?: number } = {}): Promise<T> {
    return this.#deps.gate.cleanup(fn, opts.graceMs);
  }
}

/** `bytes` random bytes as hex (Web Crypto, a global: no Node import in the runtime). */

/** A child's deadline: its own, or the parent's remaining time if that is shorter (at least 1 ms). */
export function childTimeout(own: number | undefined, parentDeadlineMs: number | undefined, nowMs: number | undefined): number | undefined {
  if (parentDeadlineMs === undefined || nowMs === undefined) return own;
  const remaining = Math.max(1, parentDeadlineMs - nowMs);
  return own === undefined ? remaining : Math.min(own, remaining);
}

/** One-way `cancel` to another process's workflow (journaled, so sent once). */
export function cancelProcess(ctx: restate.Context, id: string, reason: string | undefined): void {
  ctx.workflowSendClient<ProcessWorkflow>(WORKFLOW, id).cancel(reason === undefined ? {} : { reason });
}
