import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { ProcessId, ServiceNames, isTerminalStatus } from "../model/index.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import { json, perProcessJson, terminalHandlerOptions } from "../runtime/restate-handlers.ts";

export const AcquireInput = z.object({
  processId: ProcessId,
  limit: z.number().int().min(1),
  /** Resolved (with null) when a queued request is granted its slot. */
  awakeableId: z.string().min(1),
});
export const AcquireOutput = z.object({ granted: z.boolean(), position: z.number().int().optional() });
export type AcquireOutput = z.infer<typeof AcquireOutput>;
export const ReleaseInput = z.object({ processId: ProcessId });
export const LimiterStatus = z.object({
  limit: z.number().int(),
  holders: z.array(z.string()),
  queued: z.array(z.string()),
});
export type LimiterStatus = z.infer<typeof LimiterStatus>;

interface LimiterState {
  limit: number;
  holders: string[];
  queue: { processId: string; awakeableId: string }[];
}

const STATE = "limiter";

/**
 * `LashConcurrencyLimiter/<limit key>`: a counting semaphore with a durable FIFO queue.
 * A virtual object, so its exclusive handlers see one state, one call at a time.
 * Waiters are Restate awakeables: a queued run suspends (no polling) until `release`
 * hands it the slot. Idempotent per process id: a retried or resubmitted run that asks
 * again keeps its slot or its place in the queue (with its new awakeable).
 *
 * Slots are released by the holder's run after its outcome is written, and by recovery
 * when it writes an outcome itself. As a last line against a leaked slot (a run killed
 * between writing its outcome and releasing), an acquire that would queue first drops
 * holders whose registry row is terminal or gone.
 */
export function createConcurrencyLimiter(registry: ProcessRegistry) {
  const load = async (ctx: restate.ObjectContext, limit?: number): Promise<LimiterState> => {
    const state = (await ctx.get<LimiterState>(STATE)) ?? { limit: limit ?? 1, holders: [], queue: [] };
    if (limit !== undefined) state.limit = limit; // the latest configured limit applies
    return state;
  };

  /** Hands free slots to the head of the queue. */
  const grant = (ctx: restate.ObjectContext, state: LimiterState): void => {
    while (state.holders.length < state.limit && state.queue.length > 0) {
      const next = state.queue.shift()!;
      state.holders.push(next.processId);
      ctx.resolveAwakeable(next.awakeableId, null);
    }
  };

  const save = (ctx: restate.ObjectContext, state: LimiterState): void => {
    if (state.holders.length === 0 && state.queue.length === 0) ctx.clear(STATE);
    else ctx.set(STATE, state);
  };

  return restate.object({
    name: ServiceNames.limiter,
    handlers: {
      acquire: restate.handlers.object.exclusive(
        { input: perProcessJson(AcquireInput), output: perProcessJson(AcquireOutput), ingressPrivate: true },
        async (ctx: restate.ObjectContext, { processId, limit, awakeableId }): Promise<AcquireOutput> => {
          const state = await load(ctx, limit);
          if (state.holders.includes(processId)) return { granted: true };
          const waiting = state.queue.findIndex((w) => w.processId === processId);
          if (waiting >= 0) {
            state.queue[waiting] = { processId, awakeableId };
            save(ctx, state);
            return { granted: false, position: waiting + 1 };
          }
          if (state.holders.length >= state.limit) {
            const holders = state.holders;
            const gone = await ctx.run("finished holders", () => finishedAmong(registry, holders));
            state.holders = state.holders.filter((h) => !gone.includes(h));
          }
          // FIFO: earlier waiters first, then this request if a slot is left.
          state.queue.push({ processId, awakeableId });
          grant(ctx, state);
          save(ctx, state);
          return state.holders.includes(processId) ? { granted: true } : { granted: false, position: state.queue.length };
        },
      ),

      /** Frees the process's slot (or its place in the queue); a process holding nothing is a no-op. */
      release: restate.handlers.object.exclusive(
        { input: perProcessJson(ReleaseInput), output: perProcessJson(z.object({ released: z.boolean() })), ingressPrivate: true },
        async (ctx: restate.ObjectContext, { processId }) => {
          const state = await ctx.get<LimiterState>(STATE);
          if (state == null) return { released: false };
          const before = state.holders.length + state.queue.length;
          state.holders = state.holders.filter((h) => h !== processId);
          state.queue = state.queue.filter((w) => w.processId !== processId);
          grant(ctx, state);
          save(ctx, state);
          return { released: state.holders.length + state.queue.length < before };
        },
      ),

      /** Who holds a slot and who waits, in queue order. */
      status: restate.handlers.object.shared({ output: json(LimiterStatus) }, async (ctx: restate.ObjectSharedContext): Promise<LimiterStatus> => {
        const state = await ctx.get<LimiterState>(STATE);
        return { limit: state?.limit ?? 0, holders: state?.holders ?? [], queued: state?.queue.map((w) => w.processId) ?? [] };
      }),
    },
    options: terminalHandlerOptions,
  });
}

/** Holders whose row is terminal or no longer exists (pruned): their slots are free. */
async function finishedAmong(registry: ProcessRegistry, holders: readonly string[]): Promise<string[]> {
  const records = await Promise.all(holders.map((id) => registry.get(id)));
  return holders.filter((_, i) => records[i] === undefined || isTerminalStatus(records[i].status));
}
