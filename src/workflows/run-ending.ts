/**
 * How a run of `LashProcessWorkflow` ends, apart from its body: the outcome of a
 * cancellation or a deadline, the parent-close policy, the deadline timer, and the
 * recovery failure of a run refused at the boundary (the seed's `process_recovery_failed`).
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import {
  CoreEventTypes,
  LashError,
  ProcessId,
  ServiceNames,
  isLashError,
  statusOfOutcome,
  type ProcessAwaitOutput,
  type ProcessRecord,
  type ProcessRegistrationInput,
} from "../model/index.ts";
import type { CompleteResult, ProcessRegistry } from "../registry/port.ts";
import { prepareRegistration } from "../registry/rules.ts";
import { cancelProcess, type ChildRef } from "../runtime/process-context.ts";

/** An outcome, or one decided by the clock when the run writes it (a replay reads back what was written). */
export type Ending = ProcessAwaitOutput | ((nowMs: number) => ProcessAwaitOutput);

export const ExpireInput = z.object({ run: z.string().min(1).max(200) });

/** The Restate timer and the endpoint's clock may disagree by this much at the deadline. */
const DEADLINE_SLACK_MS = 1000;

/** `cancelled` offered when the run saw Restate's cancellation; a standing cancel request replaces it (with its reason) in `complete`. */
export const OPERATOR_CANCEL_REASON = "cancelled by operator";

export function deadlineExceeded(record: Pick<ProcessRecord, "timeoutMs">): ProcessAwaitOutput {
  return { type: "failure", class: "timeout", code: "deadline_exceeded", message: `the process did not end within its timeoutMs (${record.timeoutMs} ms)` };
}

/**
 * The outcome of a cancellation the run observed: the deadline if it has passed (the
 * deadline timer cancels the run too), else `cancelled`. The registry's `complete`
 * turns it into the standing request's `cancelled` (with its reason) when there is one.
 */
export function cancelledEnding(record: Pick<ProcessRecord, "timeoutMs" | "createdAtMs"> | undefined): Ending {
  return (nowMs) => {
    if (record?.timeoutMs !== undefined && nowMs >= record.createdAtMs + record.timeoutMs - DEADLINE_SLACK_MS) return deadlineExceeded(record);
    return { type: "cancelled", message: `process ${OPERATOR_CANCEL_REASON}`, reason: OPERATOR_CANCEL_REASON };
  };
}

/** A delayed self-send that cancels this run's invocation at the deadline (no racing of awaits, no polling). */
export function armDeadline(ctx: restate.WorkflowContext, inMs: number): void {
  ctx.genericSend({
    service: ServiceNames.workflow,
    method: "expire",
    key: ctx.key,
    parameter: { run: ctx.request().id },
    inputSerde: restate.serde.json,
    delay: inMs,
  });
}

/**
 * Restate delivers a cancellation once, at whichever await is pending; a second one (a
 * deadline after a cancel) may land while the run writes its outcome. Those writes are
 * idempotent, so they are simply issued again (a bounded number of times).
 */
export async function untilNotCancelled<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof restate.CancelledError) || attempt >= 10) throw err;
    }
  }
}

/** Parent-close policy: children with policy `cancel` that the body did not see end are cancelled (they cascade in turn). */
export function closeChildren(ctx: restate.WorkflowContext, parent: ProcessRecord, children: readonly ChildRef[], outcome: ProcessAwaitOutput): void {
  for (const child of children) {
    if (child.policy === "cancel" && !child.settled) cancelProcess(ctx, child.id, `parent ${parent.id} ${statusOfOutcome(outcome)}`);
  }
}

/** The run's invocation id, from the replay key of its `process.started` (`<invocation id>/<attempt>`). */
export function invocationOfRunKey(runKey: string): restate.InvocationId {
  return restate.InvocationIdParser.fromString(runKey.slice(0, runKey.lastIndexOf("/")));
}

/** A workflow key reaching the registry from a shared handler is a valid process id, or a 400. */
export function checkKey(key: string): string {
  const parsed = ProcessId.safeParse(key);
  if (parsed.success) return key;
  throw new LashError("invalid_input", `id: ${parsed.error.issues[0]?.message ?? "not a valid process id"}`, { field: "id" });
}

/**
 * A run refused at the boundary (unknown tool or program after an upgrade, another host
 * profile, an inline registry under a durable deployment) of a process that IS registered
 * with this very content ends, once, `failure{execution, process_recovery_failed}` after a
 * `process.recovery_failed` event: it is never resubmitted. Anything else (no row, another
 * registration) is `undefined`: the caller refuses the message and writes nothing.
 */
export async function recordRecoveryFailure(
  registry: ProcessRegistry,
  key: string,
  input: ProcessRegistrationInput,
  err: LashError,
  writer: string,
): Promise<CompleteResult | undefined> {
  let hash: string;
  try {
    hash = prepareRegistration(input).hash;
  } catch {
    return undefined;
  }
  const record = await registry.get(key);
  if (record === undefined || record.registrationHash !== hash) return undefined;
  const message = err.toWire();
  if (record.outcome === undefined) {
    try {
      await registry.appendEvent(key, { type: CoreEventTypes.recoveryFailed, payload: { code: err.code, message }, replayKey: `${writer}:event` });
    } catch (appendErr) {
      if (!isLashError(appendErr, "process_terminal")) throw appendErr;
    }
  }
  return registry.complete(key, { type: "failure", class: "execution", code: "process_recovery_failed", message }, { replayKey: writer });
}
