/**
 * Scenarios 4 and 5: `processes` lash processes blocked in `waitFor` (std.wait_signal),
 * and as many bare workflows blocked on a durable promise, for comparison. Measures
 * each endpoint's RSS (VmRSS of the child) idle, with every process waiting while
 * Restate still holds its invocation stream open, and, when `suspendWaitMs` > 0,
 * after Restate suspended them (its inactivity timeout, 1 min by default). Cancel
 * latency: `cancel` request to `cancelled` visible in the registry, one at a time.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as delay } from "node:timers/promises";
import { adminQuery } from "../test/support/restate-server.ts";
import { endWindow, startWindow } from "./analysis-bench.ts";
import { startBenchStack, type BenchStack } from "./lib/bench-stack.ts";
import { summarizeHeapProfile } from "./lib/cpu-profile.ts";
import { postOk } from "./lib/http-client.ts";
import { memoryOf, residentBreakdown, type ResidentBreakdown } from "./lib/proc.ts";
import { registrationFor, toolCall } from "./lib/requests.ts";
import { summarize, type LatencySummary } from "./lib/stats.ts";

export interface HeapInfo {
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  /** V8 heap spaces after the GC: committed / used MiB (`v8.getHeapSpaceStatistics`). */
  spacesMiB?: Record<string, { committed: number; used: number }>;
}

export interface MemoryPoint {
  phase: string;
  lashRssMiB: number;
  bareRssMiB: number;
  restateRssMiB: number;
  /** RSS and heap after a forced full GC in the endpoint (what is live, not garbage). */
  lashAfterGc: { rssMiB: number; heap: HeapInfo; resident: ResidentBreakdown };
  bareAfterGc: { rssMiB: number; heap: HeapInfo; resident: ResidentBreakdown };
  /** `sys_invocation` status counts of the waiting `run`s. */
  invocations: Record<string, number>;
}

export interface CancelSeries {
  phase: string;
  /** Request sent -> registry row `cancelled`. */
  visible: LatencySummary;
  /** Request sent -> `cancel` answered. */
  answered: LatencySummary;
  timeouts: number;
}

export interface CancelMemoryResult {
  processes: number;
  /** Extra Node flags of both endpoints (besides --expose-gc). */
  nodeFlags: string;
  /** Both endpoints ran from TypeScript source (Node's type stripping), not compiled JS. */
  fromSource?: boolean;
  startSeconds: number;
  memory: MemoryPoint[];
  cancels: CancelSeries[];
  /** Live heap (sampled) allocated from the first start until all waited, by allocating code. */
  heap: { lash: ReturnType<typeof summarizeHeapProfile>; bare: ReturnType<typeof summarizeHeapProfile> };
  /** Seconds until Restate showed every remaining run suspended (undefined: not waited for / not reached). */
  suspendedAfterSeconds?: number;
}

const SEND_CONCURRENCY = 32;

export async function runCancelMemory(
  opts: { processes: number; cancels: number; suspendWaitMs: number; timeoutMs: number; nodeFlags?: string; fromSource?: boolean },
  log: (line: string) => void,
): Promise<CancelMemoryResult> {
  const gcEnv = {
    NODE_OPTIONS: `--expose-gc ${opts.nodeFlags ?? ""}`.trim(),
    LASH_BENCH_HEAP_SAMPLING: "1",
    ...(process.env.LASH_BENCH_HEAP_ALL === "1" ? { LASH_BENCH_HEAP_ALL: "1" } : {}),
  };
  const stack = await startBenchStack({ lash: true, bare: true, controlDir: true, lashEnv: gcEnv, bareEnv: gcEnv, fromSource: opts.fromSource === true });
  let probes = 0;
  const db = new DatabaseSync(stack.registryPath, { readOnly: true, timeout: 5000 });
  try {
    const memory: MemoryPoint[] = [];
    const point = async (phase: string) => {
      const lashRssMiB = memoryOf(stack.lash!.pid).rssMiB;
      const bareRssMiB = memoryOf(stack.bare!.pid).rssMiB;
      const restateRssMiB = memoryOf(stack.restate.pid).rssMiB;
      probes += 1;
      const [lashHeap, bareHeap] = await Promise.all([
        heapProbe(stack.lash!.pid, stack.controlDir!, "lash", probes),
        heapProbe(stack.bare!.pid, stack.controlDir!, "bare", probes),
      ]);
      const p: MemoryPoint = {
        phase,
        lashRssMiB,
        bareRssMiB,
        restateRssMiB,
        lashAfterGc: { rssMiB: memoryOf(stack.lash!.pid).rssMiB, heap: lashHeap, resident: residentBreakdown(stack.lash!.pid) },
        bareAfterGc: { rssMiB: memoryOf(stack.bare!.pid).rssMiB, heap: bareHeap, resident: residentBreakdown(stack.bare!.pid) },
        invocations: await runStatusCounts(stack),
      };
      memory.push(p);
      log(
        `  RSS ${phase}: lash ${p.lashRssMiB.toFixed(1)} MiB (after GC ${p.lashAfterGc.rssMiB.toFixed(1)}: ${describe(lashHeap, p.lashAfterGc.resident)}), ` +
          `bare ${p.bareRssMiB.toFixed(1)} MiB (after GC ${p.bareAfterGc.rssMiB.toFixed(1)}: ${describe(bareHeap, p.bareAfterGc.resident)}), restate ${p.restateRssMiB.toFixed(1)} MiB; runs ${JSON.stringify(p.invocations)}`,
      );
    };
    await point("idle (after start)");

    const startWaiting = (prefix: string, count: number, bare: boolean) => burstWaiting(stack, db, prefix, count, bare, opts.timeoutMs);

    const lashWindow = await startWindow(stack.lash!, stack.controlDir!, "lash", 1);
    const bareWindow = await startWindow(stack.bare!, stack.controlDir!, "bare", 1);
    const t0 = performance.now();
    const ids = await startWaiting("wait-", opts.processes, true);
    const startSeconds = (performance.now() - t0) / 1000;
    log(`  ${opts.processes} lash processes waiting (and as many bare workflows held) after ${startSeconds.toFixed(1)} s`);
    await delay(1000); // let the bare side settle too
    await endWindow(stack.lash!, lashWindow);
    await endWindow(stack.bare!, bareWindow);
    const heap = { lash: summarizeHeapProfile(`${lashWindow}.heapprofile`), bare: summarizeHeapProfile(`${bareWindow}.heapprofile`) };
    log(`  live sampled heap allocated while starting: lash ${heap.lash.totalMiB.toFixed(1)} MiB, bare ${heap.bare.totalMiB.toFixed(1)} MiB`);
    await point(`${opts.processes} waiting, streams open`);

    const status = db.prepare("SELECT status FROM lash_processes WHERE id = ?");
    const cancels: CancelSeries[] = [];
    /** Cancels `targets` one at a time: request sent -> registry row `cancelled`. */
    const cancelSeries = async (phase: string, targets: readonly string[]) => {
      const visible: number[] = [];
      const answered: number[] = [];
      let timeouts = 0;
      for (const id of targets) {
        const begun = performance.now();
        let answeredAt: number | undefined;
        const call = postOk(`${stack.ingress}/LashProcessWorkflow/${id}/cancel`, {}).then(() => {
          answeredAt = performance.now();
        });
        const limit = begun + 10_000;
        let seen = false;
        while (performance.now() < limit) {
          if ((status.get(id) as { status: string }).status === "cancelled") {
            seen = true;
            break;
          }
          await delay(1);
        }
        if (seen) visible.push(performance.now() - begun);
        else timeouts += 1;
        await call;
        answered.push(answeredAt! - begun);
      }
      const series: CancelSeries = { phase, visible: summarize(visible), answered: summarize(answered), timeouts };
      cancels.push(series);
      log(
        `  cancel (${phase}): visible p50=${series.visible.p50.toFixed(1)}ms p99=${series.visible.p99.toFixed(1)}ms, answered p50=${series.answered.p50.toFixed(1)}ms, n=${series.visible.n}, timeouts=${timeouts}`,
      );
    };

    const result: CancelMemoryResult = {
      processes: opts.processes,
      nodeFlags: opts.nodeFlags ?? "",
      fromSource: opts.fromSource === true,
      startSeconds,
      memory,
      cancels,
      heap,
    };
    const cancelCount = Math.min(opts.cancels, opts.processes);
    if (opts.suspendWaitMs > 0) {
      // All N suspended first (the memory target), then cancel some of them (each cancel replays its journal).
      const s0 = performance.now();
      const until = s0 + opts.suspendWaitMs;
      let counts: Record<string, number> = {};
      while (performance.now() < until) {
        counts = await runStatusCounts(stack);
        if ((counts["LashProcessWorkflow suspended"] ?? 0) >= opts.processes && (counts["BareWorkflow suspended"] ?? 0) >= opts.processes) break;
        await delay(1000);
      }
      const suspended = counts["LashProcessWorkflow suspended"] ?? 0;
      if (suspended >= opts.processes) result.suspendedAfterSeconds = startSeconds + (performance.now() - s0) / 1000;
      await delay(2000); // give the endpoint a moment to release what the streams held
      await point(`${suspended} suspended`);
      await cancelSeries("suspended (replayed on cancel)", ids.slice(0, cancelCount));
    }
    // Cancels of runs whose streams are still open: a fresh batch, so the counts above stay whole.
    const fresh = await startWaiting("wait-open-", cancelCount, false);
    await cancelSeries("streams open", fresh);
    return result;
  } finally {
    db.close();
    await stack.close();
  }
}

/** Starts lash processes blocked in waitFor (and, with `bare`, as many held bare workflows); resolves when all wait. */
async function burstWaiting(stack: BenchStack, db: DatabaseSync, prefix: string, count: number, bare: boolean, timeoutMs: number): Promise<string[]> {
  const waiting = db.prepare("SELECT count(*) AS n FROM lash_processes WHERE status = 'waiting' AND id LIKE ? || '%'");
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
  await forEachLimited(ids, SEND_CONCURRENCY, async (id) => {
    await postOk(`${stack.ingress}/LashProcessWorkflow/${id}/run/send`, { registration: registrationFor(id, toolCall("std.wait_signal", { name: "go" })) });
    if (bare) await postOk(`${stack.ingress}/BareWorkflow/${id}/run/send`, { steps: 0, hold: true });
  });
  const deadline = performance.now() + timeoutMs;
  const waited = () => (waiting.get(prefix) as { n: number }).n;
  while (waited() < count && performance.now() < deadline) await delay(100);
  if (waited() < count) throw new Error(`only ${waited()}/${count} processes reached waitFor within ${timeoutMs} ms`);
  return ids;
}

export interface MemoryRepeats {
  processes: number;
  /** Endpoint RSS with every process waiting (streams open), one reading per fresh stack. */
  lashRssMiB: number[];
  bareRssMiB: number[];
}

/**
 * The endpoint RSS after the same burst, repeated in `repeats` fresh stacks as a
 * deployment runs them: no heap profiler, no forced GC, no registry call counting
 * (`runCancelMemory` has all three, for its breakdown). One burst's reading varies by
 * tens of MiB between identical runs (how far V8 grows its heap depends on when its
 * GCs fall during the burst), so the target is judged on their median. Waiting with streams open, not suspended: Restate
 * suspends them only after a minute, and the RSS does not drop when it does (section 5).
 */
export async function runMemoryRepeats(opts: { processes: number; repeats: number; timeoutMs: number }, log: (line: string) => void): Promise<MemoryRepeats> {
  const result: MemoryRepeats = { processes: opts.processes, lashRssMiB: [], bareRssMiB: [] };
  for (let i = 0; i < opts.repeats; i++) {
    const stack = await startBenchStack({ lash: true, bare: true });
    const db = new DatabaseSync(stack.registryPath, { readOnly: true, timeout: 5000 });
    try {
      await burstWaiting(stack, db, "repeat-", opts.processes, true, opts.timeoutMs);
      await delay(1000); // as in the detailed run: let the bare side settle too
      result.lashRssMiB.push(memoryOf(stack.lash!.pid).rssMiB);
      result.bareRssMiB.push(memoryOf(stack.bare!.pid).rssMiB);
      log(`  burst ${i + 1}/${opts.repeats}: lash ${result.lashRssMiB.at(-1)!.toFixed(1)} MiB, bare ${result.bareRssMiB.at(-1)!.toFixed(1)} MiB`);
    } finally {
      db.close();
      await stack.close();
    }
  }
  return result;
}

const describe = (h: HeapInfo, r: ResidentBreakdown) =>
  `heap ${h.heapUsedMiB.toFixed(1)}/${h.heapTotalMiB.toFixed(1)} (${Object.entries(h.spacesMiB ?? {})
    .filter(([, v]) => v.committed >= 1)
    .map(([k, v]) => `${k.replace("_space", "")} ${v.used.toFixed(0)}/${v.committed.toFixed(0)}`)
    .join(", ")}), external ${h.externalMiB.toFixed(1)}; resident: ` +
  `files ${r.fileMiB.toFixed(1)}, malloc ${r.mallocMiB.toFixed(1)}, wasm ${r.wasmMiB.toFixed(1)}, other anon (V8 heap pages, stacks) ${r.otherAnonMiB.toFixed(1)}`;

/** Asks an endpoint child (SIGHUP) for its heap breakdown after a forced GC; see lib/bench-control.ts. */
async function heapProbe(pid: number, dir: string, name: string, n: number): Promise<HeapInfo> {
  const file = join(dir, `${name}-mem-${n}.json`);
  process.kill(pid, "SIGHUP");
  const deadline = Date.now() + 30_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no heap probe from ${name} (${file})`);
    await delay(20);
  }
  await delay(20); // written in one call; give it a moment to land
  const { before, after, spaces } = JSON.parse(readFileSync(file, "utf8")) as {
    before: NodeJS.MemoryUsage;
    after?: NodeJS.MemoryUsage;
    spaces: Record<string, { committed: number; used: number }>;
  };
  const m = after ?? before;
  const mib = (b: number) => b / 1024 / 1024;
  const spacesMiB = Object.fromEntries(Object.entries(spaces).map(([k, v]) => [k, { committed: mib(v.committed), used: mib(v.used) }]));
  return { heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers), spacesMiB };
}

async function runStatusCounts(stack: BenchStack): Promise<Record<string, number>> {
  const rows = await adminQuery<{ s: string; st: string; n: number }>(
    stack.admin,
    "SELECT target_service_name AS s, status AS st, count(*) AS n FROM sys_invocation WHERE target_handler_name = 'run' GROUP BY target_service_name, status",
  );
  return Object.fromEntries(rows.map((r) => [`${r.s} ${r.st}`, Number(r.n)]));
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
