import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { PrivateHandlerNames, ServiceNames } from "../model/index.ts";
import { PruneInput, PruneResult, ScheduleInput, ScheduleResult, SweepInput, SweepReport } from "../model/wire.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import { slotsFor } from "../runtime/limits.ts";
import { sendWake } from "../runtime/wake.ts";
import { releaseSlots } from "../workflows/concurrency-slots.ts";
import type { RunRequest } from "../workflows/process-workflow.ts";
import { OPTIONAL_JSON, json, terminalHandlerOptions } from "../runtime/restate-handlers.ts";
import { RestateAdmin, type RestateEndpoints } from "./restate-admin.ts";
import { pruneFinished } from "./recovery-prune.ts";
import { addReports, emptyReport, sweepPage } from "./recovery-sweep.ts";

export type { RestateEndpoints };

/** Rows one scheduled tick prunes at most; the next tick takes the rest. */
const TICK_PRUNE_LIMIT = 10_000;
const TickInput = z.object({ generation: z.number().int() });

const PAGE_SIZE = 500;

/**
 * `LashProcessRecovery/<registryName>`: drives every non-terminal row to a
 * terminal outcome. A virtual object, so sweeps on one key never overlap.
 * Each page is one durable step; a crash mid-sweep resumes at the next page.
 */
export function createRecoveryService(rt: LashRuntime, urls: RestateEndpoints, opts: { retentionMs?: number } = {}) {
  const admin = new RestateAdmin(urls);

  async function sweep(ctx: restate.ObjectContext, limit: number | undefined): Promise<SweepReport> {
    let report = emptyReport();
    let cursor: string | undefined;
    for (let n = 0; limit === undefined || report.scanned < limit; n++) {
      const pageSize = limit === undefined ? PAGE_SIZE : Math.min(PAGE_SIZE, limit - report.scanned);
      const page = await ctx.run(`sweep page ${n}`, async () => {
        const swept = await sweepPage(rt.registry, admin, pageSize, cursor);
        rt.observer?.sweepPage(swept.report);
        return swept;
      });
      for (const registration of page.starts) {
        ctx.genericSend({
          service: ServiceNames.workflow,
          method: "run",
          key: registration.id,
          parameter: { registration } satisfies RunRequest,
          inputSerde: restate.serde.json,
        });
      }
      for (const { record, event } of page.terminals) {
        sendWake(ctx, rt.wakeTarget, record, event);
        ctx.genericSend({ service: ServiceNames.workflow, method: PrivateHandlerNames.releaseAwaiters, key: record.id, parameter: new Uint8Array(0) });
        // The run that held concurrency slots will not release them: this outcome is recovery's.
        releaseSlots(ctx, record.id, slotsFor(rt.limits, rt.plugins, record), undefined);
      }
      report = addReports(report, page.report);
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    ctx.set("lastReport", report);
    return report;
  }

  /** Re-arms the durable cron: Restate has none built in, so a delayed self-send. */
  function arm(ctx: restate.ObjectContext, generation: number, everyMs: number): void {
    ctx.genericSend({
      service: ServiceNames.recovery,
      method: "tick",
      key: ctx.key,
      parameter: { generation },
      inputSerde: restate.serde.json,
      delay: everyMs,
    });
  }

  return restate.object({
    name: ServiceNames.recovery,
    handlers: {
      sweep: restate.handlers.object.exclusive(
        { input: json(SweepInput), output: json(SweepReport), accept: OPTIONAL_JSON },
        async (ctx: restate.ObjectContext, { limit }) => sweep(ctx, limit),
      ),

      /** Retention now: `lashctl prune --older-than 30d [--dry-run]`. */
      prune: restate.handlers.object.exclusive({ input: json(PruneInput), output: json(PruneResult) }, async (ctx: restate.ObjectContext, input) =>
        pruneFinished(ctx, rt.registry, admin, input),
      ),

      schedule: restate.handlers.object.exclusive(
        { input: json(ScheduleInput), output: json(ScheduleResult) },
        async (ctx: restate.ObjectContext, { everyMs, retainForMs }) => {
          const generation = ((await ctx.get<number>("generation")) ?? 0) + 1;
          ctx.set("generation", generation);
          ctx.set("everyMs", everyMs);
          if (retainForMs === undefined) ctx.clear("retainForMs");
          else ctx.set("retainForMs", retainForMs);
          arm(ctx, generation, everyMs);
          return { everyMs, generation };
        },
      ),

      unschedule: restate.handlers.object.exclusive(async (ctx: restate.ObjectContext) => {
        // A new generation makes the tick already in flight a no-op.
        ctx.set("generation", ((await ctx.get<number>("generation")) ?? 0) + 1);
        ctx.clear("everyMs");
        return { scheduled: false };
      }),

      tick: restate.handlers.object.exclusive({ input: json(TickInput), ingressPrivate: true }, async (ctx: restate.ObjectContext, { generation }) => {
        const everyMs = await ctx.get<number>("everyMs");
        if (everyMs == null || generation !== (await ctx.get<number>("generation"))) return;
        await sweep(ctx, undefined);
        const retainForMs = (await ctx.get<number>("retainForMs")) ?? opts.retentionMs;
        if (retainForMs !== undefined) {
          const pruned = await pruneFinished(ctx, rt.registry, admin, { olderThanMs: retainForMs, dryRun: false, limit: TICK_PRUNE_LIMIT });
          ctx.set("lastPrune", pruned);
        }
        arm(ctx, generation, everyMs);
      }),
    },
    options: terminalHandlerOptions,
  });
}
