/**
 * Scenario 3: recovery. `rows` never-submitted rows (std.echo) are written with
 * `registry.register` into the endpoint's SQLite file before the endpoint starts
 * (LASH_RECOVER_ON_START=0), then ONE `LashProcessRecovery/default/sweep` is timed
 * (request-response: it answers when every page was handled; each page's runs are
 * started through the sweep's journal), and then the time until the registry shows
 * every row terminal.
 */
import { readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as delay } from "node:timers/promises";
import { openRegistry } from "../src/registry/open-registry.ts";
import { INCLUSIVE, endWindow, startWindow } from "./analysis-bench.ts";
import type { Counters } from "./lib/bench-control.ts";
import { startBenchStack, type BenchStack } from "./lib/bench-stack.ts";
import { summarizeProfile, type ProfileSummary } from "./lib/cpu-profile.ts";
import { postJson } from "./lib/http-client.ts";
import { closedLoop } from "./lib/load.ts";
import { cpuMsOf } from "./lib/proc.ts";
import { registrationFor, toolCall } from "./lib/requests.ts";

export interface RecoveryResult {
  rows: number;
  /** Writing the rows (one `register` transaction each), before the endpoint starts. */
  registerSeconds: number;
  sweepSeconds: number;
  report: Record<string, unknown>;
  /** From the start of the sweep until no row is non-terminal. */
  allTerminalSeconds: number;
  terminal: number;
  /** CPU used from the sweep's start until all terminal (ms). */
  cpuMs: { endpoint: number; restate: number };
  /** Rows submitted per second by the sweep, and rows completed per second overall. */
  submitRate: number;
  completeRate: number;
  /**
   * The same tool (std.echo) run as ordinary processes on the same stack right after, closed
   * loop at concurrency 64: processes answered per second. The sweep should not be the
   * bottleneck: `completeRate / processRate` near 1 or above.
   */
  processRate?: number;
  /** CPU ms per std.echo process in that closed loop: the endpoint, restate-server, this client (compare `cpuMs` / rows). */
  processCpuMs?: { endpoint: number; restate: number; client: number };
  /** With `profile`: the endpoint's CPU profile from the sweep's start until all terminal. */
  profile?: ProfileSummary;
}

const LIVE_COUNT = "SELECT count(*) AS n FROM lash_processes WHERE status IN ('pending', 'running', 'waiting')";

export async function runRecovery(
  rows: number,
  opts: { timeoutMs: number; profile?: boolean; lashEnv?: Record<string, string> },
  log: (line: string) => void,
): Promise<RecoveryResult> {
  let registerSeconds = 0;
  const stack = await startBenchStack({
    lash: true,
    ...(opts.profile ? { controlDir: true } : {}),
    ...(opts.lashEnv ? { lashEnv: opts.lashEnv } : {}),
    beforeLash: async (path) => {
      const registry = await openRegistry(`sqlite:${path}`);
      const t0 = performance.now();
      try {
        for (let i = 0; i < rows; i++) {
          const id = `rec-${String(i).padStart(6, "0")}`;
          await registry.register(registrationFor(id, toolCall("std.echo", { value: i })));
        }
      } finally {
        await registry.close();
      }
      registerSeconds = (performance.now() - t0) / 1000;
    },
  });
  const db = new DatabaseSync(stack.registryPath, { readOnly: true, timeout: 5000 });
  try {
    const live = () => (db.prepare(LIVE_COUNT).get() as { n: number }).n;
    if (live() !== rows) throw new Error(`expected ${rows} live rows before the sweep, found ${live()}`);
    log(`  ${rows} rows registered in ${registerSeconds.toFixed(1)} s; sweeping`);
    const window = opts.profile ? await startWindow(stack.lash!, stack.controlDir!, "lash", 1) : undefined;
    const cpu0 = { endpoint: cpuMsOf(stack.lash!.pid), restate: cpuMsOf(stack.restate.pid) };
    const t0 = performance.now();
    const res = await postJson(`${stack.ingress}/LashProcessRecovery/default/sweep`, {}, opts.timeoutMs);
    const sweepSeconds = (performance.now() - t0) / 1000;
    if (res.status !== 200) throw new Error(`sweep answered ${res.status}: ${res.text.slice(0, 500)}`);
    const report = res.body as Record<string, unknown>;
    log(`  sweep answered in ${sweepSeconds.toFixed(2)} s: ${JSON.stringify({ ...report, failed: (report.failed as unknown[]).length })}`);
    const deadline = t0 + opts.timeoutMs;
    let remaining = live();
    while (remaining > 0 && performance.now() < deadline) {
      await delay(100);
      remaining = live();
    }
    const allTerminalSeconds = (performance.now() - t0) / 1000;
    const cpuMs = { endpoint: cpuMsOf(stack.lash!.pid) - cpu0.endpoint, restate: cpuMsOf(stack.restate.pid) - cpu0.restate };
    const terminal = rows - remaining;
    let profile: RecoveryResult["profile"];
    if (window !== undefined) {
      await endWindow(stack.lash!, window);
      profile = summarizeProfile(`${window}.cpuprofile`, INCLUSIVE);
      const counters = JSON.parse(readFileSync(`${window}.json`, "utf8")) as Counters;
      profile.inclusive.push(...Object.entries(counters).map(([method, c]) => ({ fn: `registry.${method} x${c.calls} (wall)`, ms: c.totalMs })));
    }
    if (remaining > 0) log(`  ${remaining} rows still live after ${(opts.timeoutMs / 1000).toFixed(0)} s`);
    log(`  all ${terminal}/${rows} terminal after ${allTerminalSeconds.toFixed(2)} s`);
    const echo = opts.profile ? undefined : await echoThroughput(stack);
    const processRate = echo?.rate;
    if (processRate !== undefined) {
      log(
        `  the same tool as processes: ${processRate.toFixed(0)}/s; recovery reached terminal at ${(terminal / allTerminalSeconds / processRate).toFixed(2)}x that`,
      );
    }
    return {
      rows,
      registerSeconds,
      sweepSeconds,
      report,
      allTerminalSeconds,
      terminal,
      cpuMs,
      submitRate: (report.submitted as number) / sweepSeconds,
      completeRate: terminal / allTerminalSeconds,
      ...(echo === undefined ? {} : { processRate: echo.rate, processCpuMs: echo.cpuMs }),
      ...(profile ? { profile } : {}),
    };
  } finally {
    db.close();
    await stack.close();
  }
}

/** Closed loop of std.echo processes (`LashProcessWorkflow/<id>/run`) at concurrency 64 for 5 s: answered per second, and CPU per process. */
async function echoThroughput(stack: BenchStack): Promise<{ rate: number; cpuMs: NonNullable<RecoveryResult["processCpuMs"]> }> {
  const ingress = stack.ingress;
  const cpu0 = { endpoint: cpuMsOf(stack.lash!.pid), restate: cpuMsOf(stack.restate.pid), client: process.cpuUsage() };
  const res = await closedLoop({
    concurrency: 64,
    durationMs: 5_000,
    maxRequests: 50_000,
    request: async (i) => {
      const id = `echo-${i}`;
      const answer = await postJson(`${ingress}/LashProcessWorkflow/${id}/run`, { registration: registrationFor(id, toolCall("std.echo", { value: i })) });
      if (answer.status !== 200 || (answer.body as { type?: string }).type !== "success")
        throw new Error(`${id}: ${answer.status} ${answer.text.slice(0, 300)}`);
    },
  });
  if (res.errors > 0) throw new Error(`std.echo processes: ${res.errors} errors, first: ${res.firstError}`);
  const client = process.cpuUsage(cpu0.client);
  const per = (ms: number) => ms / Math.max(1, res.completed);
  return {
    rate: res.completed / (res.elapsedMs / 1000),
    cpuMs: {
      endpoint: per(cpuMsOf(stack.lash!.pid) - cpu0.endpoint),
      restate: per(cpuMsOf(stack.restate.pid) - cpu0.restate),
      client: per((client.user + client.system) / 1000),
    },
  };
}
