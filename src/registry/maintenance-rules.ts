/**
 * Rules for the registry's maintenance writes (recovery's attempt counter, retention),
 * shared by every adapter like `rules.ts`.
 */
import { LashError, type ProcessRecord } from "../model/index.ts";

/**
 * The compare-and-set behind `recordRetry(id, { fromAttempt })`: a sweeper that read the
 * row at attempt N may only move it to N + 1. Another sweeper (under another recovery key,
 * or an overlapping sweep) that already counted this failure makes it `stale_attempt`.
 */
export function assertAttempt(record: Pick<ProcessRecord, "id" | "attempt">, fromAttempt: number | undefined): void {
  if (fromAttempt === undefined || record.attempt === fromAttempt) return;
  throw new LashError(
    "stale_attempt",
    `process "${record.id}" is at attempt ${record.attempt}, not ${fromAttempt}: another sweep already resubmitted it`,
    { field: "fromAttempt" },
  );
}
