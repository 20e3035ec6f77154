/**
 * Rules for the registry's maintenance writes (recovery's attempt counter, retention),
 * shared by every adapter like `rules.ts`.
 */
import { z } from "zod";
import { LashError, parseOrThrow, type ProcessRecord } from "../model/index.ts";

/**
 * The compare-and-set behind `recordRetry(id, { fromAttempt })`: a sweeper that read the
 * row at attempt N may only move it to N + 1. Another sweeper (under another recovery key,
 * or an overlapping sweep) that already counted this failure makes it `stale_attempt`.
 */
export function assertAttempt(record: Pick<ProcessRecord, "id" | "attempt">, fromAttempt: number | undefined): void {
  if (fromAttempt === undefined || record.attempt === fromAttempt) return;
  throw new LashError("stale_attempt", `process "${record.id}" is at attempt ${record.attempt}, not ${fromAttempt}: another sweep already resubmitted it`, {
    field: "fromAttempt",
  });
}

export const PruneOptions = z.object({
  /** Finished (terminal) rows whose last update is older than this many ms go. */
  olderThanMs: z.number().int().min(0),
  /** At most this many rows per call (deleted in batches of `PRUNE_BATCH`). */
  limit: z.number().int().min(1).max(100_000).default(1000),
  /** Count and list what would go; delete nothing. */
  dryRun: z.boolean().default(false),
});
export type PruneOptions = z.input<typeof PruneOptions>;

export interface PruneResult {
  /** Rows deleted (or, with `dryRun`, that would be). Their events went with them. */
  pruned: number;
  /** Their ids, oldest first. */
  ids: string[];
  /** True when more rows match beyond `limit`: call again. */
  more: boolean;
  /** Rows last updated before this time (ms since the epoch) matched. */
  cutoffMs: number;
}

/** Rows deleted per transaction: short locks, bounded memory. */
export const PRUNE_BATCH = 500;

export function parsePruneOptions(input: PruneOptions): z.infer<typeof PruneOptions> & { cutoffMs: number } {
  const opts = parseOrThrow(PruneOptions, input, "prune");
  return { ...opts, cutoffMs: Date.now() - opts.olderThanMs };
}
