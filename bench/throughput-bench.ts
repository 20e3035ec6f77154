/**
 * Scenario 1: throughput and submit-to-terminal latency, lash vs a bare Restate
 * workflow with the same number of no-op steps, at several concurrencies.
 * Rounds alternate the order (bare, lash / lash, bare) so drift in the shared
 * machine's load does not favour one side; samples of all rounds are merged.
 */
import type { BenchStack } from "./lib/bench-stack.ts";
import { closedLoop } from "./lib/load.ts";
import { cpuMsOf, loadAverage, machineCpuMs, waitForQuiet } from "./lib/proc.ts";
import { runner, type System } from "./lib/requests.ts";
import { summarize, type LatencySummary } from "./lib/stats.ts";

export interface ThroughputOptions {
  steps: number[];
  concurrencies: number[];
  /** Systems besides bare and lash: `lash-start` = LashProcesses/start + awaitTerminal, only at these step counts. */
  startVariantSteps: number[];
  warmupMs: number;
  measureMs: number;
  maxRequestsPerRound: number;
  rounds: number;
  /** Before each window, wait up to this long for the machine to be quiet (see waitForQuiet). */
  quietWaitMs: number;
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

export async function runThroughput(stack: BenchStack, opts: ThroughputOptions, log: (line: string) => void): Promise<ThroughputCell[]> {
  const cells: ThroughputCell[] = [];
  let seq = 0;
  let noisyWindows = 0;
  for (const steps of opts.steps) {
    for (const concurrency of opts.concurrencies) {
      const systems: System[] = ["bare", "lash", ...(opts.startVariantSteps.includes(steps) ? (["lash-start"] as const) : [])];
      const acc = new Map<System, { lat: number[]; completed: number; elapsed: number; errors: number; firstError?: string; cpu: { endpoint: number; restate: number; client: number }; machineBusy: number; machineTotal: number }>();
      for (let round = 0; round < opts.rounds; round++) {
        const order = round % 2 === 0 ? systems : [...systems].reverse();
        for (const system of order) {
          const endpointPid = system === "bare" ? stack.bare!.pid : stack.lash!.pid;
          const send = runner(stack.ingress, system, steps);
          const prefix = `${system}-s${steps}-c${concurrency}-r${round}-${seq++}`;
          const gate = await waitForQuiet(opts.quietWaitMs);
          if (!gate.quiet) noisyWindows += 1;
          await closedLoop({ concurrency, durationMs: opts.warmupMs, maxRequests: opts.maxRequestsPerRound, request: (i) => send(`${prefix}-w${i}`) });
          const cpu0 = { endpoint: cpuMsOf(endpointPid), restate: cpuMsOf(stack.restate.pid), client: process.cpuUsage(), machine: machineCpuMs() };
          const res = await closedLoop({ concurrency, durationMs: opts.measureMs, maxRequests: opts.maxRequestsPerRound, request: (i) => send(`${prefix}-${i}`) });
          const clientUs = process.cpuUsage(cpu0.client);
          const machine = machineCpuMs();
          const a = acc.get(system) ?? { lat: [], completed: 0, elapsed: 0, errors: 0, cpu: { endpoint: 0, restate: 0, client: 0 }, machineBusy: 0, machineTotal: 0 };
          a.machineBusy += machine.busy - cpu0.machine.busy;
          a.machineTotal += machine.total - cpu0.machine.total;
          a.lat.push(...res.latenciesMs);
          a.completed += res.completed;
          a.elapsed += res.elapsedMs;
          a.errors += res.errors;
          if (res.firstError !== undefined) a.firstError ??= res.firstError;
          a.cpu.endpoint += cpuMsOf(endpointPid) - cpu0.endpoint;
          a.cpu.restate += cpuMsOf(stack.restate.pid) - cpu0.restate;
          a.cpu.client += (clientUs.user + clientUs.system) / 1000;
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
  if (noisyWindows > 0) log(`  (${noisyWindows} window(s) started while other work kept the machine busy)`);
  return cells;
}
