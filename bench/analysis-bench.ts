/**
 * Where lash's overhead goes, for one workload (3 no-op steps, concurrency 64):
 * journal entries per process (Restate's `sys_journal`), registry calls per
 * process (counted in the endpoint), and a CPU profile of each endpoint over the
 * same number of processes.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { EndpointProcess } from "../test/support/endpoint-process.ts";
import { adminQuery } from "../test/support/restate-server.ts";
import type { Counters } from "./lib/bench-control.ts";
import { startBenchStack } from "./lib/bench-stack.ts";
import { summarizeProfile, type ProfileSummary } from "./lib/cpu-profile.ts";
import { closedLoop } from "./lib/load.ts";
import { cpuMsOf } from "./lib/proc.ts";
import { runner, type System } from "./lib/requests.ts";

export interface JournalRow {
  system: string;
  steps: number;
  /** Journal entries (commands + notifications) and commands alone, per `run` invocation. */
  entries: number;
  commands: number;
}

export interface ProfiledRun {
  system: System;
  processes: number;
  seconds: number;
  endpointCpuMsPerProcess: number;
  restateCpuMsPerProcess: number;
  summary: ProfileSummary;
  registryCalls?: { method: string; perProcess: number; msPerProcess: number }[];
}

export interface AnalysisResult {
  journal: JournalRow[];
  /** Entry listing of one 3-step `run`, per system: `index type name`. */
  listings: Record<string, string[]>;
  /** Journal of the `LashProcesses/start` invocation itself. */
  startJournal?: { entries: number; commands: number };
  profiles: ProfiledRun[];
  /** The closed loop's concurrency in the profiled windows (absent in results from before 2026-12-02: 64). */
  concurrency?: number;
}

export const INCLUSIVE =
  /^(register|markStarted|setStatus|complete|appendEvent|get|countEvents|parseOrThrow|safeParse|parse|prepareRegistration|canonicalHash|JSON\.stringify|stringify|toRecord|checkRegistration|guard|step|run|finish|executeBody|runBody|sendWake|resolveQuietly|sweepPage|recoverRow|submitRun|runInvocations|fetch)$/;

export async function runAnalysis(opts: { processes: number; concurrency: number; steps: number }, log: (line: string) => void): Promise<AnalysisResult> {
  const stack = await startBenchStack({
    lash: true,
    bare: true,
    controlDir: true,
    // `LASH_BENCH_ANALYSIS_URL=postgres://…?schema=…`: profile the lash endpoint on another registry.
    ...(process.env.LASH_BENCH_ANALYSIS_URL ? { lashEnv: { LASH_REGISTRY_URL: process.env.LASH_BENCH_ANALYSIS_URL } } : {}),
  });
  try {
    const dir = stack.controlDir!;
    // Journals: one run per system and step count, with known keys.
    const journal: JournalRow[] = [];
    for (const steps of [0, 3, 10]) {
      for (const system of ["bare", "lash", "lash-start"] as System[]) await runner(stack.ingress, system, steps)(`journal-${system}-${steps}`);
    }
    const rows = await adminQuery<{ k: string; s: string; js: number; jc: number }>(
      stack.admin,
      "SELECT target_service_key AS k, target_service_name AS s, journal_size AS js, journal_commands_size AS jc FROM sys_invocation " +
        "WHERE target_handler_name = 'run' AND target_service_key LIKE 'journal-%'",
    );
    for (const row of rows) {
      const m = /^journal-(.+)-(\d+)$/.exec(row.k)!;
      journal.push({ system: m[1]!, steps: Number(m[2]), entries: row.js, commands: row.jc });
    }
    journal.sort((a, b) => a.steps - b.steps || a.system.localeCompare(b.system));
    const listings: Record<string, string[]> = {};
    for (const system of ["bare", "lash"]) {
      const entries = await adminQuery<{ index: number; entry_type: string; name?: string }>(
        stack.admin,
        `SELECT j.index AS index, j.entry_type AS entry_type, j.name AS name FROM sys_journal j JOIN sys_invocation i ON j.id = i.id ` +
          `WHERE i.target_handler_name = 'run' AND i.target_service_key = 'journal-${system}-3' ORDER BY j.index`,
      );
      listings[system] = entries.map((e) => `${e.index} ${e.entry_type}${e.name ? ` "${e.name}"` : ""}`);
    }
    const starts = await adminQuery<{ js: number; jc: number }>(
      stack.admin,
      "SELECT journal_size AS js, journal_commands_size AS jc FROM sys_invocation WHERE target_service_name = 'LashProcesses' AND target_handler_name = 'start' LIMIT 1",
    );
    const result: AnalysisResult = { journal, listings, profiles: [], concurrency: opts.concurrency };
    if (starts[0]) result.startJournal = { entries: starts[0].js, commands: starts[0].jc };

    for (const system of ["lash", "bare"] as const) {
      const ep = system === "lash" ? stack.lash! : stack.bare!;
      const send = runner(stack.ingress, system, opts.steps);
      // Warm up (JIT, connections), then one profiled window over exactly `processes` processes.
      await closedLoop({ concurrency: opts.concurrency, durationMs: 3_000, maxRequests: opts.concurrency * 4, request: (i) => send(`prof-${system}-w${i}`) });
      const base = await startWindow(ep, dir, system, 1);
      const cpu0 = { ep: cpuMsOf(ep.pid), rs: cpuMsOf(stack.restate.pid) };
      const res = await closedLoop({
        concurrency: opts.concurrency,
        durationMs: 120_000,
        maxRequests: opts.processes,
        request: (i) => send(`prof-${system}-${i}`),
      });
      const cpu1 = { ep: cpuMsOf(ep.pid), rs: cpuMsOf(stack.restate.pid) };
      await endWindow(ep, base);
      if (res.errors > 0) throw new Error(`profiled ${system} run: ${res.errors} errors, first: ${res.firstError}`);
      const run: ProfiledRun = {
        system,
        processes: res.completed,
        seconds: res.elapsedMs / 1000,
        endpointCpuMsPerProcess: (cpu1.ep - cpu0.ep) / res.completed,
        restateCpuMsPerProcess: (cpu1.rs - cpu0.rs) / res.completed,
        summary: summarizeProfile(`${base}.cpuprofile`, INCLUSIVE),
      };
      if (system === "lash") {
        const counters = JSON.parse(readFileSync(`${base}.json`, "utf8")) as Counters;
        run.registryCalls = Object.entries(counters)
          .map(([method, c]) => ({ method, perProcess: c.calls / res.completed, msPerProcess: c.totalMs / res.completed }))
          .sort((a, b) => b.perProcess - a.perProcess);
      }
      log(`  profiled ${system}: ${res.completed} processes in ${run.seconds.toFixed(1)} s, endpoint ${run.endpointCpuMsPerProcess.toFixed(2)} ms CPU/process`);
      result.profiles.push(run);
    }
    return result;
  } finally {
    await stack.close();
  }
}

async function waitForFile(path: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${path})`);
    await delay(20);
  }
}

export async function startWindow(ep: EndpointProcess, dir: string, name: string, n: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${name}-${n}`);
  process.kill(ep.pid, "SIGUSR2");
  await waitForFile(`${base}.started`, `${name} profiler start`);
  return base;
}

export async function endWindow(ep: EndpointProcess, base: string): Promise<void> {
  process.kill(ep.pid, "SIGUSR2");
  await waitForFile(`${base}.done`, "profile written");
}
