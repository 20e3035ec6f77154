import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import {
  Limits,
  PrivateHandlerNames,
  PromiseNames,
  ServiceNames,
  jsonSize,
  LashError,
  redactRecord,
  JsonObject,
  ProcessAwaitOutput,
  ProcessRegistration,
  signalEventType,
  type ProcessRecord,
} from "../model/index.ts";
import { CancelInput, CancelResult, CompleteInput, CompleteResult, SignalInput, SignalResult } from "../model/wire.ts";
import { CancelGate, ProcessCancelled } from "../runtime/cancel-gate.ts";
import { checkRegistration } from "../runtime/invariants.ts";
import { acquireSlots, planSlots, releaseSlots } from "./concurrency-slots.ts";
import { noopObserver, targetOf, type RunObservation } from "../runtime/observer.ts";
import { DurableProcessContext, type ChildRef, type SignalDelivery } from "../runtime/process-context.ts";
import type { LimitSlot } from "../runtime/limits.ts";
import { ProcessFailure } from "../runtime/process-failure.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import { StatusWrites } from "../runtime/status-write.ts";
import { sendWake } from "../runtime/wake.ts";
import { cancelledOutcome, notFound } from "../registry/rules.ts";
import { readOnce } from "../runtime/read-bounds.ts";
import { checkEventCap, sessionCapOf } from "../runtime/resource-caps.ts";
import { DEFAULT_RETRY_POLICY, OPTIONAL_JSON, perProcessJson, terminalHandlerOptions } from "../runtime/restate-handlers.ts";
import {
  ExpireInput,
  armDeadline,
  cancelledEnding,
  checkKey,
  closeChildren,
  deadlineExceeded,
  invocationOfRunKey,
  recordRecoveryFailure,
  untilNotCancelled,
  type Ending,
} from "./run-ending.ts";

export type RunRequest = z.infer<typeof RunRequest>;
export const RunRequest = z.object({
  registration: ProcessRegistration,
  /** Opaque host data passed through to the body. */
  executionContext: JsonObject.optional(),
});

export interface WorkflowOptions {
  retryPolicy?: restate.RetryPolicy;
  /** How long Restate keeps a finished workflow's promises and output. */
  workflowRetentionMs?: number;
}

/** `LashProcessWorkflow/<processId>`: one durable process. */
export function createProcessWorkflow(rt: LashRuntime, opts: WorkflowOptions = {}) {
  const { registry } = rt;

  /**
   * Writes the outcome (first writer wins; a standing cancel wins over it), wakes the owner if this run wrote it, releases awaiters.
   *
   * Not a journaled step: `complete` is idempotent by its replay key and the registry remembers
   * the answer. A replay after a crash at any point past the write reads back the stored outcome
   * and terminal event (whose replay key says this run wrote it), so it takes the same branches
   * and issues the same commands, one round trip to restate-server less per process.
   */
  async function finish(ctx: restate.WorkflowContext, record: ProcessRecord, output: Ending, observed: RunObservation) {
    const writer = runKey(ctx, record.attempt);
    const offered = boundOutput(typeof output === "function" ? output(Date.now()) : output);
    const done = await registry.complete(record.id, offered, { replayKey: writer });
    if (done.event.replayKey === writer) sendWake(ctx, rt.wakeTarget, record, done.event);
    // Only when an `awaitTerminal` waits (it marked the row before the outcome was written; one
    // that comes later reads the outcome from the row): two journal entries saved per process.
    if (done.awaited) releaseAwaiters(ctx, done.outcome);
    observed.outcome(done.outcome);
    return done.outcome;
  }

  /** Runs the body (or waits for an external completion); a cancellation observed anywhere in it wins. */
  async function runBody(ctx: restate.WorkflowContext, record: ProcessRecord, gate: CancelGate, observed: RunObservation) {
    let pctx: DurableProcessContext | undefined;
    let output: Ending;
    const statusWrites = new StatusWrites(ctx, gate, registry, record.id);
    try {
      if (record.input.type === "external") {
        await Promise.race([statusWrites.write("waiting"), statusWrites.failed]);
        output = await gate.guard(() => ctx.promise<ProcessAwaitOutput>(PromiseNames.external).get());
      } else {
        const body = executeBody(rt, record, (args) => {
          pctx = new DurableProcessContext({ ctx, registry, record, args, gate, statusWrites, wakeTarget: rt.wakeTarget, observed });
          return pctx;
        });
        // A failed status write fails the attempt where it happened; the body never sees it (status-write.ts).
        output = await Promise.race([body, statusWrites.failed]);
      }
    } catch (err) {
      if (!(err instanceof ProcessCancelled) && !(err instanceof restate.CancelledError)) throw err;
      gate.trip();
    }
    // Authoritative: a body that observed the cancellation and returned anyway still ends cancelled.
    if (gate.cancelled) output = cancelledEnding(record);
    return { output: output!, children: pctx?.children ?? [] };
  }

  /** A run this worker refuses at the boundary: see `refuseRun`. */
  async function refuseRun(ctx: restate.WorkflowContext, registration: RunRequest["registration"], err: LashError): Promise<ProcessAwaitOutput> {
    // Someone else's message under this key (or no usable id): never touch the key's row or its awaiters.
    if (err.code === "process_key_mismatch" || err.code === "missing_process_execution_id") throw err;
    const writer = `${ctx.request().id}/refused`;
    const done = await ctx.run("recovery failed", () => recordRecoveryFailure(registry, ctx.key, registration, err, writer));
    if (done === undefined) throw err;
    if (done.event.replayKey === writer) sendWake(ctx, rt.wakeTarget, done.record, done.event);
    releaseAwaiters(ctx, done.outcome);
    return done.outcome;
  }

  return restate.workflow({
    name: ServiceNames.workflow,
    handlers: {
      run: restate.handlers.workflow.workflow(
        { input: perProcessJson(RunRequest), output: perProcessJson(ProcessAwaitOutput) },
        async (ctx: restate.WorkflowContext, { registration }): Promise<ProcessAwaitOutput> => {
          try {
            checkRegistration(rt, ctx.key, registration);
          } catch (err) {
            if (!(err instanceof LashError)) throw err;
            return refuseRun(ctx, registration, err);
          }
          const request = ctx.request();
          const observed = (rt.observer ?? noopObserver).runAttempt({
            processId: ctx.key,
            invocationId: request.id,
            target: targetOf(registration.input),
            headers: request.headers,
            attemptHeaders: request.attemptHeaders,
            attemptDone: request.attemptCompletedSignal,
          });
          let record: ProcessRecord | undefined;
          let output: Ending | undefined;
          let children: readonly ChildRef[] = [];
          let slots: LimitSlot[] = [];
          try {
            slots = await planSlots(ctx, rt, registration);
            // Not a journaled step: ONE registry write (the row, under the session cap when new, marked
            // started under this run's key), idempotent by that key. A replay registers again and gets
            // `resumed` (the first try started the row), so it ignores a cancel or an outcome written
            // since and takes the path the first try took. A run waiting for concurrency slots is marked
            // started too, so a cancel can reach its invocation.
            const started = await registry.register(registration, { startRun: (attempt) => runKey(ctx, attempt), sessionCap: sessionCapOf(rt.caps) });
            const registered = started.record;
            record = registered;
            observed.attempt(registered.attempt);
            if (registered.outcome !== undefined && started.resumed !== true) {
              // Already terminal (an earlier run, or recovery): nothing to run, nobody to wake again.
              observed.outcome(registered.outcome);
              releaseAwaiters(ctx, registered.outcome);
              return registered.outcome;
            }
            // The clock is read in a step (only for a process with a deadline), so a replay arms the same timer.
            const deadlineInMs =
              registered.timeoutMs === undefined || started.cancelRequested !== undefined
                ? undefined
                : await ctx.run("deadline", () => registered.createdAtMs + registered.timeoutMs! - Date.now());
            if (started.cancelRequested !== undefined) {
              output = cancelledOutcome(started.cancelRequested.reason, "before it started");
            } else if (deadlineInMs !== undefined && deadlineInMs <= 0) {
              output = deadlineExceeded(registered);
            } else {
              if (deadlineInMs !== undefined) armDeadline(ctx, deadlineInMs);
              const gate = new CancelGate(ctx);
              // Concurrency limits: acquire before the body (queued meanwhile), release after the outcome is written.
              const acquired = await acquireSlots(ctx, rt, registered, slots, gate);
              // Cancelled (or past the deadline) while queued: the body never runs; the ending is read from the row below.
              if (acquired.cancelled === undefined) ({ output, children } = await runBody(ctx, acquired.record, gate, observed));
            }
          } catch (err) {
            // Cancelled by Restate outside the body (planning slots, reading the deadline): the run still writes its one outcome.
            if (!(err instanceof restate.CancelledError)) throw err;
            output = undefined;
          }
          const known = record;
          const registered = known ?? (await untilNotCancelled(() => ctx.run("register", async () => (await registry.register(registration)).record)));
          const ending = output ?? cancelledEnding(registered);
          const outcome = await untilNotCancelled(() => finish(ctx, registered, ending, observed));
          closeChildren(ctx, registered, children, outcome);
          return releaseSlots(ctx, registered.id, slots, outcome);
        },
      ),

      cancel: restate.handlers.workflow.shared(
        { input: perProcessJson(CancelInput), output: perProcessJson(CancelResult), accept: OPTIONAL_JSON },
        async (ctx: restate.WorkflowSharedContext, { reason }): Promise<CancelResult> => {
          const id = checkKey(ctx.key);
          const request = await ctx.run("cancel request", () =>
            (rt.observer ?? noopObserver).action("cancel", id, {}, () =>
              registry.requestCancel(id, {
                ...(reason === undefined ? {} : { reason }),
                replayKey: ctx.request().id,
                expiresAtMs: Date.now() + Limits.cancelBeforeStartTtlMs,
              }),
            ),
          );
          if (request.state === "terminal") return { accepted: false, alreadyTerminal: true };
          // Live with a run: Restate cancels the run's invocation; the body sees it at its next await.
          // Unregistered: the request waits (bounded) for a start, whose register will find it.
          if (request.state === "live" && request.runKey !== undefined) ctx.cancel(invocationOfRunKey(request.runKey));
          return { accepted: true, alreadyTerminal: false };
        },
      ),

      /** Private: the delayed self-send armed at the start of a run with a deadline. */
      expire: restate.handlers.workflow.shared(
        { input: perProcessJson(ExpireInput), ingressPrivate: true },
        async (ctx: restate.WorkflowSharedContext, { run }): Promise<void> => {
          ctx.cancel(restate.InvocationIdParser.fromString(run));
        },
      ),

      signal: restate.handlers.workflow.shared(
        { input: perProcessJson(SignalInput), output: perProcessJson(SignalResult) },
        async (ctx: restate.WorkflowSharedContext, { name, payload }) => {
          const id = ctx.key;
          const type = signalEventType(name);
          const appended = await ctx.run("append signal", () =>
            (rt.observer ?? noopObserver).action("signal", id, { "lash.signal.name": name }, async () => {
              const record = await registry.get(id);
              if (record === undefined) throw notFound(id);
              await checkEventCap(registry, id, rt.caps);
              const event = await registry.appendEvent(id, { type, payload: payload ?? null, replayKey: ctx.request().id });
              return { record, event, ordinal: await registry.countEvents(id, type, event.sequence) };
            }),
          );
          const delivery: SignalDelivery = { payload: payload ?? null, sequence: appended.event.sequence };
          await resolveQuietly(ctx.promise<SignalDelivery>(PromiseNames.signal(name, appended.ordinal)), delivery);
          sendWake(ctx, rt.wakeTarget, appended.record, appended.event);
          return { sequence: appended.event.sequence };
        },
      ),

      awaitTerminal: restate.handlers.workflow.shared(
        { output: perProcessJson(ProcessAwaitOutput) },
        async (ctx: restate.WorkflowSharedContext): Promise<ProcessAwaitOutput> => {
          // The registry first: it outlives the workflow's retention, the promise does not. Marking the
          // row awaited makes the run resolve the promise; an outcome written before the mark is read here.
          // An id that is not registered is a prompt 404 that leaves nothing behind.
          const record = await ctx.run("get", () => registry.markAwaited(checkKey(ctx.key)));
          if (record === undefined) throw notFound(ctx.key);
          return record.outcome ?? ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome).get();
        },
      ),

      status: restate.handlers.workflow.shared(async (ctx: restate.WorkflowSharedContext): Promise<ProcessRecord> => {
        const record = await ctx.run("status", () => readOnce("status", () => registry.get(ctx.key)));
        if (record === undefined) throw notFound(ctx.key);
        return redactRecord(record);
      }),

      complete: restate.handlers.workflow.shared(
        { input: perProcessJson(CompleteInput), output: perProcessJson(CompleteResult) },
        async (ctx: restate.WorkflowSharedContext, { output }): Promise<CompleteResult> => {
          const id = ctx.key;
          const done = await ctx.run("complete external", async () => {
            const record = await registry.get(id);
            if (record === undefined) throw notFound(id);
            if (record.input.type !== "external") {
              throw new LashError("not_external", `process "${id}" is a ${record.input.type} process; only external processes are completed from outside`);
            }
            return registry.complete(id, output, { replayKey: ctx.request().id });
          });
          const applied = done.event.replayKey === ctx.request().id;
          if (applied) sendWake(ctx, rt.wakeTarget, done.record, done.event);
          await resolveQuietly(ctx.promise<ProcessAwaitOutput>(PromiseNames.external), done.outcome);
          await resolveQuietly(ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome), done.outcome);
          // A standing cancel wins over the offered outcome: then it was not accepted either.
          return { accepted: applied && done.outcome.type === output.type, alreadyTerminal: !applied };
        },
      ),

      /** Private: recovery wrote the outcome (abandoned, or copied); release awaiters. */
      [PrivateHandlerNames.releaseAwaiters]: restate.handlers.workflow.shared(
        { ingressPrivate: true },
        async (ctx: restate.WorkflowSharedContext): Promise<void> => {
          const record = await ctx.run("read outcome", () => registry.get(ctx.key));
          if (record?.outcome !== undefined) await resolveQuietly(ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome), record.outcome);
        },
      ),
    },
    options: {
      ...terminalHandlerOptions,
      retryPolicy: opts.retryPolicy ?? DEFAULT_RETRY_POLICY,
      ...(opts.workflowRetentionMs === undefined ? {} : { workflowRetention: opts.workflowRetentionMs }),
    },
  });
}

export type ProcessWorkflow = ReturnType<typeof createProcessWorkflow>;

/** Runs the plugin body (or the host's session-turn runner) and maps how it ended to an outcome. */
async function executeBody(rt: LashRuntime, record: ProcessRecord, contextFor: (args: unknown) => DurableProcessContext): Promise<ProcessAwaitOutput> {
  try {
    let value: unknown;
    if (record.input.type === "session_turn") {
      if (rt.sessionTurnRunner === undefined) {
        throw new ProcessFailure("unavailable", "session_turn_runner_missing", "no session-turn runner is configured on this endpoint");
      }
      const { session, turnInput, outputContract } = record.input;
      value = await rt.sessionTurnRunner(contextFor({ session, turnInput, outputContract }) as never);
    } else {
      const resolved = rt.plugins.resolve(record.input)!;
      value = await resolved.body.run(contextFor(resolved.args));
    }
    return { type: "success", value: (value ?? null) as never };
  } catch (err) {
    return outcomeOfBodyError(err);
  }
}

/** Maps what a body threw to its outcome; Restate's own control-flow errors propagate. */
function outcomeOfBodyError(err: unknown): ProcessAwaitOutput {
  if (err instanceof ProcessCancelled || err instanceof restate.CancelledError) throw err;
  if (err instanceof ProcessFailure) return err.toOutput();
  if (err instanceof restate.TerminalError) return { type: "failure", class: "execution", code: "terminal_error", message: err.message };
  if (err instanceof restate.RestateError) throw err;
  const message = err instanceof Error ? err.message : String(err);
  return { type: "failure", class: "internal", code: "body_error", message };
}

/** A success value too large for the terminal event becomes a resource_limit failure. */
function boundOutput(output: ProcessAwaitOutput): ProcessAwaitOutput {
  const size = jsonSize(output);
  if (size <= Limits.outcomeMaxBytes) return output;
  return {
    type: "failure",
    class: "resource_limit",
    code: "output_too_large",
    message: `the outcome is ${size} bytes; the limit is ${Limits.outcomeMaxBytes} (keep large values in an external store)`,
  };
}

/**
 * Identifies one run of a process: Restate reuses a workflow's invocation id
 * for the same key even after a purge, so the attempt tells resubmissions apart.
 */
function runKey(ctx: restate.WorkflowContext, attempt: number): string {
  return `${ctx.request().id}/${attempt}`;
}

/**
 * Resolves the outcome promise `awaitTerminal` waits on (the run does it only when a caller
 * marked the row awaited). The command is journaled when issued, before the run's output, so
 * the run does not wait for Restate's acknowledgement; an earlier resolution (an external
 * completion) is fine and needs no answer.
 */
function releaseAwaiters(ctx: restate.WorkflowContext, outcome: ProcessAwaitOutput): void {
  void ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome).resolve(outcome);
}

/** Resolves a durable promise; one already resolved (a concurrent or earlier writer) is fine. */
async function resolveQuietly<T>(promise: restate.DurablePromise<T>, value: T): Promise<void> {
  try {
    await promise.resolve(value);
  } catch (err) {
    if (!(err instanceof restate.TerminalError)) throw err;
  }
}
