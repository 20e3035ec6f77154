import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import {
  CoreEventTypes,
  Limits,
  PromiseNames,
  ServiceNames,
  jsonSize,
  ProcessAwaitOutput,
  ProcessRegistration,
  isLashError,
  isTerminalStatus,
  signalEventType,
  type ProcessRecord,
} from "../model/index.ts";
import { CancelGate, ProcessCancelled, type CancelRequest } from "../runtime/cancel-gate.ts";
import { checkRegistration } from "../runtime/invariants.ts";
import { noopObserver, targetOf, type RunObservation } from "../runtime/observer.ts";
import { DurableProcessContext, cancelProcess, type SignalDelivery } from "../runtime/process-context.ts";
import { ProcessFailure } from "../runtime/process-failure.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import { sendWake } from "../runtime/wake.ts";
import { notFound } from "../registry/rules.ts";
import { terminalHandlerOptions } from "../services/handler-support.ts";

export const RunRequest = z.object({
  registration: ProcessRegistration,
  /** Opaque host data passed through to the body. */
  executionContext: z.record(z.string(), z.json()).optional(),
});
export const CancelInput = z.object({ reason: z.string().max(2000).optional() }).default({});
export const SignalInput = z.object({
  name: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/, "may contain only letters, digits and . _ : -"),
  payload: z.json().optional(),
});
export const CompleteInput = z.object({ output: ProcessAwaitOutput });
export const CancelOutput = z.object({ accepted: z.boolean(), alreadyTerminal: z.boolean() });
export type CancelOutput = z.infer<typeof CancelOutput>;

const json = <T extends z.ZodType>(schema: T) => restate.serde.schema(schema);
/**
 * For inputs whose fields are all optional: accept a JSON body or none. (An input
 * schema that accepts "nothing" alone makes Restate refuse any body.)
 */
export const OPTIONAL_JSON = "application/json";

export interface WorkflowOptions {
  retryPolicy?: restate.RetryPolicy;
  /** How long Restate keeps a finished workflow's promises and output. */
  workflowRetentionMs?: number;
}

/** Restate retries a crashed attempt with backoff and pauses (never kills) past the last one. */
export const DEFAULT_RETRY_POLICY: restate.RetryPolicy = {
  initialInterval: 100,
  maxInterval: 10_000,
  exponentiationFactor: 2,
  maxAttempts: 60,
  onMaxAttempts: "pause",
};

/** `LashProcessWorkflow/<processId>`: one durable process. */
export function createProcessWorkflow(rt: LashRuntime, opts: WorkflowOptions = {}) {
  const { registry } = rt;

  /** Writes the outcome (first writer wins), wakes the owner if this run wrote it, releases awaiters. */
  async function finish(ctx: restate.WorkflowContext, record: ProcessRecord, output: ProcessAwaitOutput, observed: RunObservation) {
    const writer = runKey(ctx, record.attempt);
    const done = await ctx.run("complete", () => registry.complete(record.id, boundOutput(output), { replayKey: writer }));
    if (done.event.replayKey === writer) sendWake(ctx, rt.wakeTarget, record, done.event);
    releaseAwaiters(ctx, done.outcome);
    observed.outcome(done.outcome);
    return done.outcome;
  }

  /** Runs the body (or waits for an external completion); cancellation becomes a `cancelled` outcome. */
  async function runBody(ctx: restate.WorkflowContext, record: ProcessRecord, gate: CancelGate, observed: RunObservation) {
    let pctx: DurableProcessContext | undefined;
    let output: ProcessAwaitOutput;
    try {
      if (record.input.type === "external") {
        await ctx.run("status waiting", () => registry.setStatus(record.id, "waiting"));
        output = await gate.guard(ctx.promise<ProcessAwaitOutput>(PromiseNames.external).get());
      } else {
        output = await executeBody(rt, record, (args) => {
          pctx = new DurableProcessContext({ ctx, registry, record, args, gate, wakeTarget: rt.wakeTarget, observed });
          return pctx;
        });
      }
    } catch (err) {
      if (!(err instanceof ProcessCancelled) && !(err instanceof restate.CancelledError)) throw err;
      output = cancelledOutput(gate.reason ?? "cancelled by operator");
    }
    return { output, children: pctx?.children ?? [] };
  }

  return restate.workflow({
    name: ServiceNames.workflow,
    handlers: {
      run: restate.handlers.workflow.workflow(
        { input: json(RunRequest), output: json(ProcessAwaitOutput) },
        async (ctx: restate.WorkflowContext, { registration }): Promise<ProcessAwaitOutput> => {
          try {
            checkRegistration(rt, ctx.key, registration);
          } catch (err) {
            await ctx.promise(PromiseNames.outcome).reject(String((err as Error).message));
            throw err;
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
          const cancel = ctx.promise<CancelRequest>(PromiseNames.cancel);
          const early = await cancel.peek();
          const record = await ctx.run("register", async () => {
            if (early !== undefined) return (await registry.register(registration)).record;
            // The attempt is only known once the row is read: the first run of a new row is attempt 1.
            const existing = await registry.get(registration.id);
            return (await registry.register(registration, { startRun: runKey(ctx, existing?.attempt ?? 1) })).record;
          });
          observed.attempt(record.attempt);
          if (record.outcome !== undefined) {
            // Already terminal (an earlier run, or recovery): nothing to run, nobody to wake again.
            observed.outcome(record.outcome);
            releaseAwaiters(ctx, record.outcome);
            return record.outcome;
          }
          if (early !== undefined) return finish(ctx, record, cancelledOutput(early.reason, "before it started"), observed);

          const { output, children } = await runBody(ctx, record, new CancelGate(cancel.get()), observed);
          if (output.type === "cancelled") {
            for (const child of children) cancelProcess(ctx, child, `parent ${record.id} cancelled`);
          }
          return finish(ctx, record, output, observed);
        },
      ),

      cancel: restate.handlers.workflow.shared(
        { input: json(CancelInput), output: json(CancelOutput), accept: OPTIONAL_JSON },
        async (ctx: restate.WorkflowSharedContext, { reason }): Promise<CancelOutput> => {
          const id = ctx.key;
          const state = await ctx.run("cancel request", () => (rt.observer ?? noopObserver).action("cancel", id, {}, async () => {
            const record = await registry.get(id);
            if (record === undefined) return "unregistered";
            if (isTerminalStatus(record.status)) return "terminal";
            const payload: Record<string, string> = reason === undefined ? {} : { reason };
            try {
              await registry.appendEvent(id, { type: CoreEventTypes.cancelRequested, payload, replayKey: ctx.request().id });
            } catch (err) {
              if (isLashError(err, "process_terminal")) return "terminal";
              throw err;
            }
            return "live";
          }));
          if (state === "terminal") return { accepted: false, alreadyTerminal: true };
          // Unregistered: the run may be on its way; it will find the cancel and never start the body.
          await resolveQuietly(ctx.promise<CancelRequest>(PromiseNames.cancel), reason === undefined ? {} : { reason });
          return { accepted: true, alreadyTerminal: false };
        },
      ),

      signal: restate.handlers.workflow.shared(
        { input: json(SignalInput), output: json(z.object({ sequence: z.number() })) },
        async (ctx: restate.WorkflowSharedContext, { name, payload }) => {
          const id = ctx.key;
          const type = signalEventType(name);
          const appended = await ctx.run("append signal", () => (rt.observer ?? noopObserver).action("signal", id, { "lash.signal.name": name }, async () => {
            const record = await registry.get(id);
            if (record === undefined) throw notFound(id);
            const event = await registry.appendEvent(id, { type, payload: payload ?? null, replayKey: ctx.request().id });
            return { record, event, ordinal: await registry.countEvents(id, type, event.sequence) };
          }));
          const delivery: SignalDelivery = { payload: payload ?? null, sequence: appended.event.sequence };
          await resolveQuietly(ctx.promise<SignalDelivery>(PromiseNames.signal(name, appended.ordinal)), delivery);
          sendWake(ctx, rt.wakeTarget, appended.record, appended.event);
          return { sequence: appended.event.sequence };
        },
      ),

      awaitTerminal: restate.handlers.workflow.shared(
        { output: json(ProcessAwaitOutput) },
        async (ctx: restate.WorkflowSharedContext): Promise<ProcessAwaitOutput> => {
          // The registry first: it outlives the workflow's retention, the promise does not.
          const record = await ctx.run("get", () => registry.get(ctx.key));
          return record?.outcome ?? ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome).get();
        },
      ),

      status: restate.handlers.workflow.shared(async (ctx: restate.WorkflowSharedContext): Promise<ProcessRecord> => {
        const record = await ctx.run("status", () => registry.get(ctx.key));
        if (record === undefined) throw notFound(ctx.key);
        return record;
      }),

      complete: restate.handlers.workflow.shared(
        { input: json(CompleteInput), output: json(CancelOutput) },
        async (ctx: restate.WorkflowSharedContext, { output }): Promise<CancelOutput> => {
          const id = ctx.key;
          const done = await ctx.run("complete external", async () => {
            const record = await registry.get(id);
            if (record === undefined) throw notFound(id);
            if (record.input.type !== "external") {
              throw new restate.TerminalError(`not_external: process "${id}" is a ${record.input.type} process; only external processes are completed from outside`, { errorCode: 409 });
            }
            return registry.complete(id, output, { replayKey: ctx.request().id });
          });
          const applied = done.event.replayKey === ctx.request().id;
          if (applied) sendWake(ctx, rt.wakeTarget, done.record, done.event);
          await resolveQuietly(ctx.promise<ProcessAwaitOutput>(PromiseNames.external), done.outcome);
          await resolveQuietly(ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome), done.outcome);
          return { accepted: applied, alreadyTerminal: !applied };
        },
      ),

      /** Private: recovery wrote the outcome (abandoned, or copied); release awaiters. */
      settle: restate.handlers.workflow.shared({ ingressPrivate: true }, async (ctx: restate.WorkflowSharedContext): Promise<void> => {
        const record = await ctx.run("settle", () => registry.get(ctx.key));
        if (record?.outcome !== undefined) await resolveQuietly(ctx.promise<ProcessAwaitOutput>(PromiseNames.outcome), record.outcome);
      }),
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
async function executeBody(
  rt: LashRuntime,
  record: ProcessRecord,
  contextFor: (args: unknown) => DurableProcessContext,
): Promise<ProcessAwaitOutput> {
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

function cancelledOutput(reason: string | undefined, when = ""): ProcessAwaitOutput {
  const message = `process cancelled${when ? ` ${when}` : ""}${reason ? `: ${reason}` : ""}`;
  return reason === undefined ? { type: "cancelled", message } : { type: "cancelled", message, reason };
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
 * Resolves the outcome promise `awaitTerminal` waits on. The command is journaled
 * when issued, before the run's output, so the run does not wait for Restate's
 * acknowledgement (one round trip less per process); an earlier resolution
 * (an external completion) is fine and needs no answer.
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
