/**
 * The workflow's hook into concurrency limits: acquire every slot before the body,
 * release them after the outcome is written. See `services/concurrency-limiter.ts`.
 */
import * as restate from "@restatedev/restate-sdk";
import { ServiceNames, type ProcessRecord, type ProcessRegistration } from "../model/index.ts";
import { ProcessCancelled, type CancelGate } from "../runtime/cancel-gate.ts";
import { limitsActive, slotsFor, type LimitSlot } from "../runtime/limits.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import type { AcquireOutput } from "../services/concurrency-limiter.ts";

/**
 * The slots this run needs, journaled (one step, only on endpoints with any limit
 * configured): a replay keeps the plan it started with even if the config changed since.
 */
export async function planSlots(ctx: restate.WorkflowContext, rt: LashRuntime, registration: ProcessRegistration): Promise<LimitSlot[]> {
  if (!limitsActive(rt.limits, rt.plugins)) return [];
  return ctx.run("limits", () => slotsFor(rt.limits, rt.plugins, registration));
}

export interface Acquired {
  /** The row once every slot is held (or as it was, when cancelled while queued). */
  record: ProcessRecord;
  /** Set when a cancel won while the run waited for a slot: the body must not run. */
  cancelled?: ProcessCancelled;
}

/**
 * Takes the slots in key order. Over a limit, the row goes `queued` and the run
 * suspends on an awakeable the limiter resolves when a slot frees (no polling);
 * a cancel wins the race and the body never runs. Once every slot is held the row is
 * `running` again (its `process.started` was written when the run registered).
 */
export async function acquireSlots(
  ctx: restate.WorkflowContext,
  rt: LashRuntime,
  record: ProcessRecord,
  slots: readonly LimitSlot[],
  gate: CancelGate,
): Promise<Acquired> {
  if (slots.length === 0) return { record };
  let queued = false;
  for (const slot of slots) {
    const waiter = ctx.awakeable<null>();
    const answer = await ctx.genericCall<unknown, AcquireOutput>({
      service: ServiceNames.limiter,
      method: "acquire",
      key: slot.key,
      parameter: { processId: record.id, limit: slot.limit, awakeableId: waiter.id },
      inputSerde: restate.serde.json,
      outputSerde: restate.serde.json,
    });
    if (answer.granted) continue;
    if (!queued) {
      queued = true;
      await ctx.run("status queued", () => rt.registry.setStatus(record.id, "queued"));
    }
    try {
      await gate.guard(() => waiter.promise);
    } catch (err) {
      if (err instanceof ProcessCancelled) return { record, cancelled: err };
      throw err;
    }
  }
  // The run was marked started when it registered (so a cancel can reach it while queued): now it runs.
  if (!queued) return { record };
  const running = await ctx.run("status running", async () => {
    await rt.registry.setStatus(record.id, "running");
    return (await rt.registry.get(record.id)) ?? record;
  });
  return { record: running };
}

/**
 * Frees the slots (and any place in a queue) once the outcome is written; journaled sends,
 * so a crash after this point loses nothing. Returns `outcome`, to wrap the final `finish`.
 */
export function releaseSlots<T>(ctx: restate.Context, processId: string, slots: readonly LimitSlot[], outcome: T): T {
  for (const slot of slots) {
    ctx.genericSend({
      service: ServiceNames.limiter,
      method: "release",
      key: slot.key,
      parameter: { processId },
      inputSerde: restate.serde.json,
    });
  }
  return outcome;
}
