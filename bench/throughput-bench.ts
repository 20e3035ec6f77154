/**
 * Scenario 1: throughput and submit-to-terminal latency, lash vs a bare Restate
 * workflow with the same number of no-op steps, at several concurrencies.
 * Rounds alternate the order (bare, lash / lash, bare) so drift in the shared
 * machine's load does not favour one side; samples of all rounds are merged.
 */
import { startBenchStack, type BenchStack } from "./lib/bench-stack.ts";
import { isStopping } from "./lib/cleanup.ts";
import { closedLoop, type LoadResult } from "./lib/load.ts";
import { cpuMsOf, loadAverage, machineCpuMs, spendQuietBudget, waitForQuiet } from "./lib/proc.ts";
import { runner, type System } from "./lib/requests.ts";
import { summarize, type LatencySummary } from "./lib/stats.ts";

const MAX_FOREIGN = 0.1;
const MAX_ATTEMPTS = 3;

export interface ThroughputOptions {
  steps: number[];
  concurrencies: number[];
  /** Systems besides bare and lash: `lash-start` = LashProcesses/start + awaitTerminal, only at these step counts. */
  startVariantSteps: number[];
  warmupMs: number;
  measureMs: number;
  maxRequestsPerRound: number;
  rounds: number;
  /** The cells the targets are read from get this many rounds instead (more samples for a verdict). */
  targetRounds?: { steps: number; concurrencies: number[]; rounds: number };
  /** Before each window, wait up to this long for the machine to be quiet (see waitForQuiet). */
  quietWaitMs: number;
  /** Also measure latency at concurrency 1 with bare and lash requests interleaved (`runPairedLatency`). */
  paired?: PairedOptions;
}

export interface PairedOptions {
  steps: number;
  /** Rounds of one bare and one lash request; the first `warmupRounds` are not counted. */
  rounds: number;
  warmupRounds: number;
}

/** Latency at concurrency 1, bare and lash requests interleaved one by one in the same stack. */
export interface PairedLatency {
  steps: number;
  bare: LatencySummary;
  lash: LatencySummary;
  errors: number;
  firstError?: string;
}

export interface ThroughputRun {
  cells: ThroughputCell[];
  paired?: PairedLatency;
}

export interface ThroughputCell {
  system: System;
  steps: number;
  concurrency: number;
  /** Processes per second over the measured windows. */
  throughput: number;
  latency: LatencySummary;
  errors: number;
  firstError?: string;
  /** CPU ms per process: the system's endpoint child, restate-server, this client. */
  cpuMsPerProcess: { endpoint: number; restate: number; client: number };
  /** Share of the machine's CPU (all cores) busy with work that is not this benchmark's, during the windows. */
  foreignBusy: number;
  loadAvg: number;
}

/** `runThroughput` (and `runPairedLatency`, when asked for) in a stack of its own (restate-server, lash and bare endpoints), stopped afterwards. */
export async function runThroughputInFreshStack(
  opts: ThroughputOptions,
  log: (line: string) => void,
  lashEnv?: Record<string, string>,
): Promise<ThroughputRun> {
  const stack = await startBenchStack({ lash: true, bare: true, ...(lashEnv ? { lashEnv } : {}) });
  try {
    const cells = await runThroughput(stack, opts, log);
    return opts.paired === undefined ? { cells } : { cells, paired: await runPairedLatency(stack, opts.paired, log) };
  } finally {
    await stack.close();
  }
}

/**
 * Submit-to-terminal latency at concurrency 1, one bare and one lash request per round
 * (bare first in even rounds, lash first in odd ones), so both sample the machine in the same
 * moments. A difference between windows of one system at a time (`runThroughput`) also holds
 * how the machine moved between the windows; section 6 of BENCHMARKS.md shows both readings
 * for each stack.
 */
export async function runPairedLatency(stack: BenchStack, opts: PairedOptions, log: (line: string) => void): Promise<PairedLatency> {
  const send = { bare: runner(stack.ingress, "bare", opts.steps), lash: runner(stack.ingress, "lash", opts.steps) };
  const samples = { bare: [] as number[], lash: [] as number[] };
  let errors = 0;
  let firstError: string | undefined;
  for (let round = 0; round < opts.rounds && !isStopping(); round++) {
    for (const system of round % 2 === 0 ? (["bare", "lash"] as const) : (["lash", "bare"] as const)) {
      const t0 = performance.now();
      try {
        await send[system](`paired-${system}-s${opts.steps}-${round}`);
        if (round >= opts.warmupRounds) samples[system].push(performance.now() - t0);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  }
  const out: PairedLatency = { steps: opts.steps, bare: summarize(samples.bare), lash: summarize(samples.lash), errors };
  if (firstError !== undefined) out.firstError = firstError;
  log(
    `  paired     steps=${opts.steps} c= 1: bare p50=${out.bare.p50.toFixed(2)}ms lash p50=${out.lash.p50.toFixed(2)}ms ` +
      `overhead=${(out.lash.p50 - out.bare.p50).toFixed(2)}ms n=${out.lash.n} errors=${errors}`,
  );
  return out;
}

export async function runThroughput(stack: BenchStack, opts: ThroughputOptions, log: (line: string) => void): Promise<ThroughputCell[]> {
  const cells: ThroughputCell[] = [];
  let seq = 0;
  let noisyWindows = 0;
  let retriedWindows = 0;
  for (const steps of opts.steps) {
    for (const concurrency of opts.concurrencies) {
      const systems: System[] = ["bare", "lash", ...(opts.startVariantSteps.includes(steps) ? (["lash-start"] as const) : [])];
      const acc = new Map<
        System,
        {
          lat: number[];
          completed: number;
          elapsed: number;
          errors: number;
          firstError?: string;
          cpu: { endpoint: number; restate: number; client: number };
          machineBusy: number;
          machineTotal: number;
        }
      >();
      const target = opts.targetRounds;
      const rounds = target !== undefined && target.steps === steps && target.concurrencies.includes(concurrency) ? target.rounds : opts.rounds;
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? systems : [...systems].reverse();
        for (const system of order) {
          const endpointPid = system === "bare" ? stack.bare!.pid : stack.lash!.pid;
          const send = runner(stack.ingress, system, steps);
          // A window during which other work took more than MAX_FOREIGN of the machine is measured again
          // (at most MAX_ATTEMPTS times, and only while the run's quiet budget lasts).
          let attempt = 0;
          let window: {
            res: LoadResult;
            cpu0: { endpoint: number; restate: number };
            cpu1: { endpoint: number; restate: number };
            clientMs: number;
            busy: number;
            total: number;
          };
          for (;;) {
            attempt += 1;
            const prefix = `${system}-s${steps}-c${concurrency}-r${round}-${seq++}`;
            const gate = await waitForQuiet(opts.quietWaitMs);
            if (!gate.quiet) noisyWindows += 1;
            await closedLoop({ concurrency, durationMs: opts.warmupMs, maxRequests: opts.maxRequestsPerRound, request: (i) => send(`${prefix}-w${i}`) });
            const cpu0 = { endpoint: cpuMsOf(endpointPid), restate: cpuMsOf(stack.restate.pid) };
            const client0 = process.cpuUsage();
            const machine0 = machineCpuMs();
            const res = await closedLoop({
              concurrency,
              durationMs: opts.measureMs,
              maxRequests: opts.maxRequestsPerRound,
              request: (i) => send(`${prefix}-${i}`),
            });
            const clientUs = process.cpuUsage(client0);
            const machine1 = machineCpuMs();
            const cpu1 = { endpoint: cpuMsOf(endpointPid), restate: cpuMsOf(stack.restate.pid) };
            const clientMs = (clientUs.user + clientUs.system) / 1000;
            const busy = machine1.busy - machine0.busy;
            const total = machine1.total - machine0.total;
            window = { res, cpu0, cpu1, clientMs, busy, total };
            const foreign = Math.max(0, busy - (cpu1.endpoint - cpu0.endpoint) - (cpu1.restate - cpu0.restate) - clientMs) / Math.max(1, total);
            if (foreign <= MAX_FOREIGN || attempt >= MAX_ATTEMPTS || !spendQuietBudget(res.elapsedMs)) break;
            retriedWindows += 1;
          }
          const { res, cpu0, cpu1, clientMs } = window;
          const a = acc.get(system) ?? {
            lat: [],
            completed: 0,
            elapsed: 0,
            errors: 0,
            cpu: { endpoint: 0, restate: 0, client: 0 },
            machineBusy: 0,
            machineTotal: 0,
          };
          a.machineBusy += window.busy;
          a.machineTotal += window.total;
          a.lat.push(...res.latenciesMs);
          a.completed += res.completed;
          a.elapsed += res.elapsedMs;
          a.errors += res.errors;
          if (res.firstError !== undefined) a.firstError ??= res.firstError;
          a.cpu.endpoint += cpu1.endpoint - cpu0.endpoint;
          a.cpu.restate += cpu1.restate - cpu0.restate;
          a.cpu.client += clientMs;
          acc.set(system, a);
        }
      }
      for (const system of systems) {
        const a = acc.get(system)!;
        const per = (ms: number) => (a.completed > 0 ? ms / a.completed : Number.NaN);
        const cell: ThroughputCell = {
          system,
          steps,
          concurrency,
          throughput: a.completed / (a.elapsed / 1000),
          latency: summarize(a.lat),
          errors: a.errors,
          cpuMsPerProcess: { endpoint: per(a.cpu.endpoint), restate: per(a.cpu.restate), client: per(a.cpu.client) },
          foreignBusy: Math.max(0, a.machineBusy - a.cpu.endpoint - a.cpu.restate - a.cpu.client) / Math.max(1, a.machineTotal),
          loadAvg: loadAverage(),
        };
        if (a.firstError !== undefined) cell.firstError = a.firstError;
        cells.push(cell);
        log(
          `  ${system.padEnd(10)} steps=${steps} c=${String(concurrency).padStart(2)}: ${cell.throughput.toFixed(1)}/s ` +
            `p50=${cell.latency.p50.toFixed(1)}ms p99=${cell.latency.p99.toFixed(1)}ms n=${cell.latency.n} errors=${cell.errors} ` +
            `cpu/proc ep=${cell.cpuMsPerProcess.endpoint.toFixed(2)} rs=${cell.cpuMsPerProcess.restate.toFixed(2)} cl=${cell.cpuMsPerProcess.client.toFixed(2)}ms foreign=${(cell.foreignBusy * 100).toFixed(0)}%` +
            (cell.firstError ? ` (${cell.firstError.slice(0, 120)})` : ""),
        );
      }
    }
  }
  if (noisyWindows > 0 || retriedWindows > 0)
    log(`  (${noisyWindows} window(s) started on a busy machine; ${retriedWindows} measured again because other work took > ${MAX_FOREIGN * 100}% of it)`);
  return cells;
}
