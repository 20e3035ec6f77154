import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import type { PruneInput, PruneResult } from "../model/wire.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import type { RestateAdmin } from "./restate-admin.ts";

/** Rows per durable step: a crash mid-prune resumes at the next batch. */
const STEP_ROWS = 500;
const LISTED_IDS = 1000;

/**
 * Retention, one durable step per batch. Before the rows go, Restate's record of each
 * finished `LashProcessWorkflow/<id>` is purged, so a pruned id can be started again
 * (otherwise `/run/send` would answer with the old run until Restate's own retention
 * forgets it). A dry run pages through the matching rows without touching anything.
 */
export async function pruneFinished(
  ctx: restate.ObjectContext,
  registry: ProcessRegistry,
  admin: RestateAdmin,
  input: z.output<typeof PruneInput>,
): Promise<PruneResult> {
  if (input.dryRun) {
    const found = await ctx.run("prune dry run", () => registry.prune({ olderThanMs: input.olderThanMs, limit: input.limit, dryRun: true }));
    return { pruned: found.pruned, dryRun: true, more: found.more, cutoffMs: found.cutoffMs, ids: found.ids.slice(0, LISTED_IDS) };
  }
  const report: PruneResult = { pruned: 0, dryRun: false, more: false, cutoffMs: 0, ids: [] };
  for (let n = 0; report.pruned < input.limit; n++) {
    const want = Math.min(STEP_ROWS, input.limit - report.pruned);
    const batch = await ctx.run(`prune batch ${n}`, async () => {
      const candidates = await registry.prune({ olderThanMs: input.olderThanMs, limit: want, dryRun: true });
      await purgeFinishedRuns(admin, candidates.ids);
      const done = await registry.prune({ olderThanMs: input.olderThanMs, limit: want });
      return { ids: done.ids, more: done.more, cutoffMs: done.cutoffMs };
    });
    report.pruned += batch.ids.length;
    report.cutoffMs = batch.cutoffMs;
    report.ids.push(...batch.ids.slice(0, LISTED_IDS - report.ids.length));
    report.more = batch.more;
    if (!batch.more || batch.ids.length === 0) break;
  }
  return report;
}

/** Purges the completed `run` invocations of these process ids (one query, then one call each). */
async function purgeFinishedRuns(admin: RestateAdmin, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const runs = await admin.runInvocations(ids);
  for (const run of runs.values()) {
    if (run.status === "completed") await admin.purge(run.id);
  }
}
