/**
 * Measurement windows inside an endpoint child, driven by the benchmark with
 * SIGUSR2 (only when `LASH_BENCH_CONTROL_DIR` is set): the first signal resets
 * the counters and starts the V8 CPU profiler, the next one stops it and writes
 * `<dir>/<name>-<n>.cpuprofile` and `<dir>/<name>-<n>.json` (the counters), then
 * `<dir>/<name>-<n>.done`. Profiling just the window keeps start-up and idle
 * time out of the profile; with `LASH_BENCH_HEAP_SAMPLING=1` the window also
 * samples allocations and writes the live ones as `<name>-<n>.heapprofile`. SIGHUP writes `<dir>/<name>-mem-<n>.json`: the heap
 * breakdown (`process.memoryUsage()`) before and, when the child runs with
 * `--expose-gc`, after a full garbage collection.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import { join } from "node:path";
import { Session } from "node:inspector/promises";

export type Counters = Record<string, { calls: number; totalMs: number }>;

export function installBenchControl(name: string, counters: Counters = {}): void {
  const dir = process.env.LASH_BENCH_CONTROL_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const heapSampling = process.env.LASH_BENCH_HEAP_SAMPLING === "1";
  let window = 0;
  let memProbe = 0;
  process.on("SIGHUP", () => {
    const before = process.memoryUsage();
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const after = gc ? process.memoryUsage() : undefined;
    memProbe += 1;
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { committed: s.physical_space_size, used: s.space_used_size }]));
    writeFileSync(join(dir, `${name}-mem-${memProbe}.json`), JSON.stringify({ before, after, spaces }));
    // Investigation aid (not in reports): a heap snapshot at every memory probe, compared by constructor offline.
    const snapshots = process.env.LASH_BENCH_HEAP_SNAPSHOT_DIR;
    if (snapshots) writeHeapSnapshot(join(snapshots, `${name}-${memProbe}.heapsnapshot`));
  });
  let active = false;
  let busy = false;
  process.on("SIGUSR2", () => {
    if (busy) return;
    busy = true;
    void (async () => {
      if (!active) {
        for (const key of Object.keys(counters)) delete counters[key];
        await session.post("Profiler.enable");
        await session.post("Profiler.setSamplingInterval", { interval: 500 });
        await session.post("Profiler.start");
        // LASH_BENCH_HEAP_ALL=1: every sampled allocation (garbage too), to see what drives heap growth.
        const all = process.env.LASH_BENCH_HEAP_ALL === "1";
        if (heapSampling) {
          await session.post("HeapProfiler.startSampling", {
            samplingInterval: 16384,
            ...(all ? { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } : {}),
          });
        }
        active = true;
        writeFileSync(join(dir, `${name}-${window + 1}.started`), "");
      } else {
        const { profile } = await session.post("Profiler.stop");
        window += 1;
        const base = join(dir, `${name}-${window}`);
        if (heapSampling) {
          // Objects still alive now (sampled), by allocation stack.
          const { profile: heap } = await session.post("HeapProfiler.getSamplingProfile");
          await session.post("HeapProfiler.stopSampling");
          writeFileSync(`${base}.heapprofile`, JSON.stringify(heap));
        }
        writeFileSync(`${base}.cpuprofile`, JSON.stringify(profile));
        writeFileSync(`${base}.json`, JSON.stringify(counters));
        writeFileSync(`${base}.done`, "");
        active = false;
      }
    })().finally(() => {
      busy = false;
    });
  });
}

/** Wraps every method of `inner`: call counts and summed wall time per method, into `counters`. */
export function countingProxy<T extends object>(inner: T, counters: Counters): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          const entry = (counters[prop] ??= { calls: 0, totalMs: 0 });
          entry.calls += 1;
          entry.totalMs += performance.now() - started;
        }
      };
    },
  });
}
