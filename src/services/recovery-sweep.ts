import { Limits, isLashError, jsonSize, type ProcessAwaitOutput, type ProcessEvent, type ProcessRecord, type ProcessRegistration } from "../model/index.ts";
import type { SweepReport } from "../model/wire.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import { cutPageToBytes, pagePrefix } from "../runtime/read-bounds.ts";
import type { RestateAdmin, RunInvocation } from "./restate-admin.ts";

export const emptyReport = (): SweepReport => ({
  scanned: 0,
  submitted: 0,
  alreadyActive: 0,
  reconciled: 0,
  resumed: 0,
  skippedExternal: 0,
  failed: [],
});

export function addReports(a: SweepReport, b: SweepReport): SweepReport {
  return {
    scanned: a.scanned + b.scanned,
    submitted: a.submitted + b.submitted,
    alreadyActive: a.alreadyActive + b.alreadyActive,
    reconciled: a.reconciled + b.reconciled,
    resumed: a.resumed + b.resumed,
    skippedExternal: a.skippedExternal + b.skippedExternal,
    failed: [...a.failed, ...b.failed],
  };
}

/** A terminal outcome the sweep wrote: the owner is woken and awaiters released. */
export interface SweepTerminal {
  record: Pick<ProcessRecord, "id" | "eventTypes" | "provenance" | "input">;
  event: ProcessEvent;
}

export interface PageResult {
  report: SweepReport;
  terminals: SweepTerminal[];
  /**
   * Runs to start: the sweep handler sends each as a one-way call to
   * `LashProcessWorkflow/<id>/run` through its own journal, after the page's step.
   * Not an ingress `/run/send` per row from inside the step: a send on the open
   * invocation stream costs Restate and the endpoint a fraction of an HTTP call, and
   * 10,000 rows reached terminal about 1.5x sooner (bench/recovery-bench.ts). The
   * send is durable once journaled; a second `run` on a key Restate already holds is
   * dropped by Restate (a workflow's `run` runs once per key).
   */
  starts: ProcessRegistration[];
  nextCursor?: string;
}

type Action = "submitted" | "alreadyActive" | "reconciled" | "resumed" | "skippedExternal";

/** Active states Restate drives by itself: nothing to do. */
const ACTIVE = new Set(["pending", "scheduled", "ready", "running", "backing-off", "suspended", "inboxed"]);
const CONCURRENCY = 32;
const FOREIGN_REFUSAL = /process_key_mismatch|missing_process_execution_id/;

/**
 * One page of a sweep: every row taken gets exactly one action, and a row that
 * cannot be handled is reported in `failed` without stopping the rest.
 *
 * The page is journaled as one step result, so it stays far below Restate's 32 MiB
 * message limit: its rows are cut to `Limits.pageMaxBytes` (`starts` and the terminals'
 * records come from them), and once the outcomes it copied (`terminals`' events) pass
 * that limit too, no further row is taken; the rows in flight finish (at most
 * `CONCURRENCY` outcomes of `Limits.outcomeMaxBytes`). In all, under 17 MiB. The next
 * page starts after the last row taken.
 */
export async function sweepPage(registry: ProcessRegistry, admin: RestateAdmin, pageSize: number, cursor: string | undefined): Promise<PageResult> {
  // Cancels recorded for ids that never registered are bounded in time: the sweep drops expired ones.
  if (cursor === undefined) await registry.dropExpiredCancelRequests(Date.now());
  // The page's registrations are journaled with its result (`starts`): kept far below Restate's message limit.
  const page = cutPageToBytes(await registry.listNonTerminal(pageSize, cursor));
  const { items } = page;
  const runnable = items.filter((r) => r.input.type !== "external");
  const invocations = await admin.runInvocations(runnable.map((r) => r.id));
  const out: PageResult = { report: emptyReport(), terminals: [], starts: [] };
  // The bytes of the outcomes copied so far, counted as they arrive (see above).
  let copiedBytes = 0;
  let counted = 0;
  const full = () => {
    for (; counted < out.terminals.length; counted++) copiedBytes += jsonSize(out.terminals[counted]!.event);
    return copiedBytes > Limits.pageMaxBytes;
  };
  const taken = await forEachLimited(items, CONCURRENCY, full, async (record) => {
    try {
      const action = await recoverRow(registry, admin, record, invocations.get(record.id), out);
      out.report[action] += 1;
    } catch (err) {
      out.report.failed.push({ id: record.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  out.report.scanned = taken;
  const { nextCursor } = pagePrefix(page, taken);
  return nextCursor === undefined ? out : { ...out, nextCursor };
}

async function recoverRow(
  registry: ProcessRegistry,
  admin: RestateAdmin,
  record: ProcessRecord,
  invocation: RunInvocation | undefined,
  out: Pick<PageResult, "terminals" | "starts">,
): Promise<Action> {
  if (record.input.type === "external") return "skippedExternal";
  if (invocation === undefined) {
    out.starts.push(registrationOf(record));
    return "submitted";
  }
  if (invocation.status === "paused") {
    // Restate paused the run after its retries: resuming it is another attempt, so
    // `maxAttempts` bounds resumes too; past it the engine gave up (the run is killed).
    if (record.attempt < record.maxAttempts) {
      await registry.recordRetry(record.id);
      await admin.resume(invocation.id);
      return "resumed";
    }
    await admin.kill(invocation.id);
    await writeOutcome(registry, record, { type: "abandoned", evidence: { writer: "engine_gave_up", atMs: Date.now() } }, out.terminals);
    return "reconciled";
  }
  if (invocation.status !== "completed") {
    if (ACTIVE.has(invocation.status)) return "alreadyActive";
    throw new Error(`invocation ${invocation.id} is in an unknown state "${invocation.status}"`);
  }
  if (invocation.completion_result === "success") {
    // The run finished but its terminal write is missing: copy, never re-run.
    await writeOutcome(registry, record, await admin.runOutput(record.id), out.terminals);
    return "reconciled";
  }
  // Someone else's message under this key, refused at the boundary before it touched the
  // row (the key then holds a failed run): it never ran this row, so the key is freed and
  // the row's own registration submitted without counting an attempt. (Our own
  // submissions always carry id === key, so this cannot loop.)
  if (FOREIGN_REFUSAL.test(invocation.completion_failure ?? "") && (await registry.countEvents(record.id, "process.started", Number.MAX_SAFE_INTEGER)) === 0) {
    await admin.purge(invocation.id);
    out.starts.push(registrationOf(record));
    return "submitted";
  }
  // Killed or failed by the infrastructure: another attempt, or give up.
  if (record.attempt < record.maxAttempts) {
    try {
      // Compare-and-set: a sweep under another recovery key that already counted this failure wins.
      await registry.recordRetry(record.id, { fromAttempt: record.attempt });
    } catch (err) {
      if (isLashError(err, "stale_attempt")) return "alreadyActive";
      throw err;
    }
    await admin.purge(invocation.id);
    out.starts.push(registrationOf(record));
    return "submitted";
  }
  const abandoned: ProcessAwaitOutput = { type: "abandoned", evidence: { writer: "engine_gave_up", atMs: Date.now() } };
  await writeOutcome(registry, record, abandoned, out.terminals);
  return "reconciled";
}

/** Writes the outcome recovery decided on (first writer wins); a write that applied is queued for wake and release. */
async function writeOutcome(registry: ProcessRegistry, record: ProcessRecord, output: ProcessAwaitOutput, terminals: SweepTerminal[]) {
  const done = await registry.complete(record.id, output);
  if (done.disposition === "applied") {
    terminals.push({ record: { id: record.id, eventTypes: record.eventTypes, provenance: record.provenance, input: record.input }, event: done.event });
  }
}

export function registrationOf(record: ProcessRecord): ProcessRegistration {
  return {
    id: record.id,
    input: record.input,
    eventTypes: record.eventTypes,
    provenance: record.provenance,
    maxAttempts: record.maxAttempts,
    ...(record.timeoutMs === undefined ? {} : { timeoutMs: record.timeoutMs }),
  };
}

/**
 * Runs `fn` over `items` in order, at most `limit` at a time, taking no further item once
 * `full()` says so (the items in flight finish). Returns how many were taken: a prefix.
 */
async function forEachLimited<T>(items: readonly T[], limit: number, full: () => boolean, fn: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !full()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return next;
}
