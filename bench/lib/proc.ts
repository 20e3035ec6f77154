/** Reads a process's memory and CPU time from /proc (Linux). */
import { readFileSync } from "node:fs";

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

/**
 * Where a process's resident memory is, from /proc/<pid>/smaps (MiB): mapped
 * files (the node binary, libraries), anonymous mappings reserved at >= 1 GiB
 * (V8 reserves WebAssembly memories that way; the Restate SDK's VM is wasm, and a
 * wasm memory grows but never shrinks), and other anonymous memory (JS heap,
 * malloc: HTTP/2 sessions, SQLite page cache, …).
 */
export function residentBreakdown(pid: number): { fileMiB: number; largeReservationMiB: number; otherAnonMiB: number } {
  const text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  let file = 0;
  let large = 0;
  let anon = 0;
  let path = "";
  let size = 0;
  for (const line of text.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (header) {
      path = header[1] ?? "";
      continue;
    }
    const field = /^(Size|Rss):\s+(\d+) kB/.exec(line);
    if (!field) continue;
    const kb = Number(field[2]);
    if (field[1] === "Size") {
      size = kb;
      continue;
    }
    if (path.startsWith("/")) file += kb;
    else if (size >= 1024 * 1024) large += kb;
    else anon += kb;
  }
  return { fileMiB: file / 1024, largeReservationMiB: large / 1024, otherAnonMiB: anon / 1024 };
}
