import * as restate from "@restatedev/restate-sdk";
import {
  Limits,
  PromiseNames,
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
import { ProcessCancelled, type CancelGate } from "./cancel-gate.ts";
import type { RunObservation } from "./observer.ts";
import { ProcessFailure } from "./process-failure.ts";
import { sendWake, type WakeTarget } from "./wake.ts";

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

export interface ChildSpec {
  /** Defaults to `<parentId>.<n>` (n counts the children this body started). */
  id?: string;
  input: ProcessInput;
  eventTypes?: EventTypeDecl[];
  maxAttempts?: number;
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
  readonly log: ProcessLog;
}

export interface ProcessContextDeps {
  ctx: restate.WorkflowContext;
  registry: ProcessRegistry;
  record: ProcessRecord;
  args: unknown;
  gate: CancelGate;
  wakeTarget: WakeTarget | undefined;
  /** Metrics and trace hooks of this run attempt. */
  observed?: RunObservation;
}

type StepEnvelope<T> = { value: T } | { failure: ReturnType<ProcessFailure["toOutput"]> } | { aborted: true };

export class DurableProcessContext<A = unknown> implements ProcessContext<A> {
  readonly #deps: ProcessContextDeps;
  readonly #signalsConsumed = new Map<string, number>();
  readonly #children: string[] = [];
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
  /** Ids of the children this body started, for cascading cancellation. */
  get children(): readonly string[] {
    return this.#children;
  }

  async step<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T, retry: StepRetry = {}): Promise<T> {
    const policy = { ...DEFAULT_STEP_RETRY, ...retry };
    const signal = this.signal;
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
      envelope = await this.#deps.gate.guard(
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
    if ("aborted" in envelope) throw new ProcessCancelled(this.#deps.gate.reason);
    return envelope.value;
  }

  async sleep(ms: number): Promise<void> {
    await this.#deps.gate.guard(this.#deps.ctx.sleep(ms, "sleep"));
  }

  async emit(type: string, payload: unknown = null): Promise<ProcessEvent> {
    const { ctx, registry, record } = this.#deps;
    const replayKey = `${ctx.request().id}:emit:${++this.#emitted}`;
    const event = await this.#deps.gate.guard(
      ctx.run(`emit ${type}`, () => registry.appendEvent(record.id, { type, payload: payload as ProcessEvent["payload"], replayKey })),
    );
    sendWake(ctx, this.#deps.wakeTarget, record, event);
    return event;
  }

  async waitFor<T = unknown>(name: string, opts: { timeoutMs?: number } = {}): Promise<SignalResult<T>> {
    const { ctx, registry, record, gate } = this.#deps;
    const ordinal = (this.#signalsConsumed.get(name) ?? 0) + 1;
    const delivery = ctx.promise<SignalDelivery>(PromiseNames.signal(name, ordinal)).get();
    const timeout = opts.timeoutMs === undefined ? undefined : ctx.sleep(opts.timeoutMs, `waitFor ${name} timeout`);
    await ctx.run("status waiting", () => registry.setStatus(record.id, "waiting"));
    type Waited = { kind: "signal"; delivery: SignalDelivery } | { kind: "timeout" };
    const waits: restate.RestatePromise<Waited>[] = [delivery.map((d): Waited => ({ kind: "signal", delivery: d! }))];
    if (timeout !== undefined) waits.push(timeout.map((): Waited => ({ kind: "timeout" })));
    const waited = await gate.guard(restate.RestatePromise.race(waits));
    await ctx.run("status running", () => registry.setStatus(record.id, "running"));
    if (waited.kind === "timeout") return { timedOut: true };
    this.#signalsConsumed.set(name, ordinal);
    return { timedOut: false, payload: waited.delivery.payload as T, sequence: waited.delivery.sequence };
  }

  async start(child: ChildSpec): Promise<ChildHandle> {
    const { ctx, registry, record } = this.#deps;
    const registration: ProcessRegistration = {
      id: child.id ?? `${record.id}.${this.#children.length}`,
      input: child.input,
      eventTypes: child.eventTypes ?? [],
      provenance: {
        ownerScope: record.provenance.ownerScope,
        hostProfileId: record.provenance.hostProfileId,
        causedBy: { kind: "process", id: record.id },
      },
      maxAttempts: child.maxAttempts ?? Limits.defaultMaxAttempts,
    };
    await this.#deps.gate.guard(ctx.run(`register child ${registration.id}`, () => registry.register(registration).then(() => null)));
    ctx.genericSend({
      service: ServiceNames.workflow,
      method: "run",
      key: registration.id,
      parameter: { registration },
      inputSerde: restate.serde.json,
    });
    this.#children.push(registration.id);
    return this.#childHandle(registration.id);
  }

  #childHandle(id: string): ChildHandle {
    const { ctx, gate } = this.#deps;
    return {
      id,
      result: () =>
        gate.guard(
          ctx.genericCall<Uint8Array, ProcessAwaitOutput>({
            service: ServiceNames.workflow,
            method: "awaitTerminal",
            key: id,
            parameter: new Uint8Array(0),
            outputSerde: restate.serde.json as restate.Serde<ProcessAwaitOutput>,
          }),
        ),
      cancel: (reason?: string) => cancelProcess(ctx, id, reason),
    };
  }

  now(): Promise<number> {
    return this.#deps.ctx.date.now();
  }

  uuid(): string {
    return this.#deps.ctx.rand.uuidv4();
  }
}

/** One-way `cancel` to another process's workflow (journaled, so sent once). */
export function cancelProcess(ctx: restate.Context, id: string, reason: string | undefined): void {
  ctx.genericSend({
    service: ServiceNames.workflow,
    method: "cancel",
    key: id,
    parameter: reason === undefined ? {} : { reason },
    inputSerde: restate.serde.json,
  });
}
