/** Reads a process's memory and CPU time from /proc (Linux). */
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

/** `VmRSS` and `VmHWM` (peak) of a pid, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kb("VmRSS") / 1024, peakMiB: kb("VmHWM") / 1024 };
}

/** User + system CPU time of a pid so far, in ms (clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}

/** 1-minute load average: other work on the machine shows up here. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/** Busy and total CPU time of the whole machine so far (all cores), in ms, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) * 10, total: total * 10 };
}

/** Resident memory by kind of mapping, MiB (see `residentBreakdown`). */
export interface ResidentBreakdown {
  /** Mapped files: the node binary, libraries. */
  fileMiB: number;
  /** malloc: the brk heap and glibc's per-thread 64 MiB arenas (HTTP/2 sessions, SQLite, zlib, …). */
  mallocMiB: number;
  /** WebAssembly memories (an accessible part followed by a >= 1 GiB guard reservation): the SDK's VM. */
  wasmMiB: number;
  /** Other anonymous memory: mostly V8 heap pages (committed or pooled) and thread stacks. */
  otherAnonMiB: number;
}

/** Where a process's resident memory is, from the layout of /proc/<pid>/smaps. */
export function residentBreakdown(pid: number): ResidentBreakdown {
  const maps: { perms: string; path: string; size: number; rss: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+\s+(\S+)\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (header) {
      maps.push({ perms: header[1]!, path: header[2] ?? "", size: 0, rss: 0 });
      continue;
    }
    const field = /^(Size|Rss):\s+(\d+) kB/.exec(line);
    const last = maps.at(-1);
    if (field && last) last[field[1] === "Size" ? "size" : "rss"] = Number(field[2]);
  }
  const kb = { file: 0, malloc: 0, wasm: 0, anon: 0 };
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    const guard = next !== undefined && next.perms === "---p" && next.path === "";
    if (m.path.startsWith("/")) kb.file += m.rss;
    else if (m.path === "[heap]") kb.malloc += m.rss;
    else if (guard && m.size + next.size === 64 * 1024) kb.malloc += m.rss;
    else if (guard && next.size >= 1024 * 1024) kb.wasm += m.rss;
    else kb.anon += m.rss;
  });
  return { fileMiB: kb.file / 1024, mallocMiB: kb.malloc / 1024, wasmMiB: kb.wasm / 1024, otherAnonMiB: kb.anon / 1024 };
}

let quietBudgetMs = 0;

/** How long, in all, `waitForQuiet` may wait during this run (it stops waiting once spent). */
export function setQuietBudget(ms: number): void {
  quietBudgetMs = ms;
}

/** Takes `ms` from the quiet budget (for a window measured again); false when the budget is spent. */
export function spendQuietBudget(ms: number): boolean {
  if (quietBudgetMs < ms) return false;
  quietBudgetMs -= ms;
  return true;
}

/**
 * Waits (within the run's budget, and at most `maxWaitMs`) until the whole machine
 * is nearly idle for one second — less than `threshold` of all cores busy — so a
 * measured window does not start while other work (a parallel test suite) runs.
 * Returns how long it waited and whether the machine was quiet at the end.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.15): Promise<{ waitedMs: number; quiet: boolean }> {
  if (maxWaitMs <= 0 || quietBudgetMs <= 0) return { waitedMs: 0, quiet: true }; // not checked (quick mode, or budget spent)
  const t0 = performance.now();
  for (;;) {
    const a = machineCpuMs();
    await delay(1000);
    const b = machineCpuMs();
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    const waited = performance.now() - t0;
    if (busy < threshold || waited >= maxWaitMs || waited >= quietBudgetMs) {
      // The first second is a measurement, not a wait: only the rest is taken from the budget.
      quietBudgetMs = Math.max(0, quietBudgetMs - Math.max(0, waited - 1000));
      return { waitedMs: waited, quiet: busy < threshold };
    }
  }
}
