/**
 * `npm run bench` (full, ~12-15 min on 2 cores; writes BENCHMARKS.md and
 * bench/results/full.json) and `npm run bench:quick` (`--quick`, < 2 min; writes
 * bench/results/quick.md and .json, not committed). Every scenario starts its
 * own restate-server (node_modules, free 127.0.0.1 ports, temp dir) and endpoint
 * children, bounds its loops in count and time, and stops what it started by pid
 * (also on error and on SIGINT/SIGTERM). `--out <file>` overrides the report path;
 * `--render <results.json>` only re-renders a report from saved results.
 *
 * For investigations (writing bench/results/quick.md): `--only <sections>`, `--variants <what-if names>`,
 * and in the environment `LASH_BENCH_FROM_SOURCE=1` (endpoints from .ts), `LASH_BENCH_PG_POOL`
 * (the pool of the bench's PostgreSQL registries), `LASH_BENCH_ANALYSIS_URL` (profile on another registry),
 * `LASH_BENCH_ANALYSIS_N` / `_C` (quick profile size and concurrency), `LASH_BENCH_HEAP_ALL=1`,
 * `LASH_BENCH_HEAP_SNAPSHOT_DIR` (a heap snapshot at every memory probe).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { REPO_ROOT } from "../test/support/restate-server.ts";
import { runAnalysis } from "./analysis-bench.ts";
import { runCancelMemory, runMemoryRepeats } from "./cancel-memory-bench.ts";
import { runTargetRepeats } from "./target-repeats.ts";
import { isStopping, markStopping, runCleanups } from "./lib/cleanup.ts";
import { closeClient } from "./lib/http-client.ts";
import { loadAverage, setQuietBudget } from "./lib/proc.ts";
import { runRecovery } from "./recovery-bench.ts";
import { runRegistryBench } from "./registry-bench.ts";
import { renderReport, type Baseline, type BenchResults, type MachineInfo } from "./report.ts";
import { runThroughputInFreshStack } from "./throughput-bench.ts";
import { runWhatIf } from "./whatif-bench.ts";

/** The full run before commit d9de906 (one commit and one round trip less per run), for the before/after section. */
function baseline(): Baseline | undefined {
  const path = join(REPO_ROOT, BASELINE_FILE);
  if (!existsSync(path)) return undefined;
  return {
    label:
      "the previous round's code (commit 5b64b93): a PeekPromise and a cancel race on every await, `register` after a `get`, one SQLite transaction and fsync per write, a journaled `complete` step",
    file: BASELINE_FILE,
    results: JSON.parse(readFileSync(path, "utf8")) as BenchResults,
  };
}
/** The full run BENCHMARKS.md showed before the lean hot path (#12). */
const BASELINE_FILE = "bench/results/before-lean-path.json";

// `--render <results.json>`: re-render a report from saved results (after a change to report.ts), no benchmark run.
const renderIndex = process.argv.indexOf("--render");
if (renderIndex > 0) {
  const from = process.argv[renderIndex + 1]!;
  const saved = JSON.parse(readFileSync(from, "utf8")) as BenchResults;
  const target = process.argv.includes("--out")
    ? process.argv[process.argv.indexOf("--out") + 1]!
    : saved.mode === "full"
      ? join(REPO_ROOT, "BENCHMARKS.md")
      : join(REPO_ROOT, "bench/results/quick.md");
  writeFileSync(target, renderReport(saved, saved.mode === "full" ? baseline() : undefined));
  console.log(`rendered ${target} from ${from}`);
  process.exit(0);
}

const quick = process.argv.includes("--quick");
const outIndex = process.argv.indexOf("--out");
const outPath =
  outIndex > 0
    ? process.argv[outIndex + 1]!
    : quick || process.argv.includes("--only")
      ? join(REPO_ROOT, "bench/results/quick.md")
      : join(REPO_ROOT, "BENCHMARKS.md");
const jsonPath = outPath.replace(/\.md$/, "") + ".json";
const jsonOut = quick || outIndex > 0 || process.argv.includes("--only") ? jsonPath : join(REPO_ROOT, "bench/results/full.json");

/** Sizes per mode: quick is a smoke run with fewer samples and rows. */
const CONFIG = quick
  ? {
      throughput: {
        steps: [0, 3, 10],
        concurrencies: [1, 16, 64],
        startVariantSteps: [3],
        warmupMs: 400,
        measureMs: 1_200,
        maxRequestsPerRound: 4_000,
        rounds: 1,
        quietWaitMs: 0,
        paired: { steps: 3, rounds: 60, warmupRounds: 10 },
      },
      analysis: { processes: Number(process.env.LASH_BENCH_ANALYSIS_N ?? 150), concurrency: Number(process.env.LASH_BENCH_ANALYSIS_C ?? 64), steps: 3 },
      whatIf: { steps: [3], concurrencies: [64], warmupMs: 400, measureMs: 1_000, maxRequestsPerRound: 4_000, rounds: 1, quietWaitMs: 0 },
      registry: { rows: 500, maxMsPerCell: 400, concurrencies: [1, 16] },
      recovery: { sizes: [1_000], profileRows: 0, timeoutMs: 60_000 },
      cancelMemory: { processes: 1_000, cancels: 30, suspendWaitMs: 0, timeoutMs: 60_000, variants: [] as { nodeFlags?: string; fromSource?: boolean }[] },
      memoryRepeats: { processes: 1_000, repeats: 2, timeoutMs: 60_000 },
      targetRepeats: {
        repeats: 1,
        windows: { warmupMs: 400, measureMs: 1_000, maxRequestsPerRound: 4_000, rounds: 1, quietWaitMs: 0 },
        paired: { steps: 3, rounds: 60, warmupRounds: 10 },
        recoveryRows: 1_000,
        recoveryTimeoutMs: 60_000,
      },
      deadlineMs: 6 * 60_000,
      quietBudgetMs: 0,
    }
  : {
      throughput: {
        steps: [0, 3, 10],
        concurrencies: [1, 16, 64],
        startVariantSteps: [3],
        warmupMs: 1_500,
        measureMs: 6_000,
        maxRequestsPerRound: 20_000,
        rounds: 2,
        // The target cells (3 steps at concurrency 1 and 64): twice the samples; windows vary by about 10%.
        targetRounds: { steps: 3, concurrencies: [1, 64], rounds: 4 },
        quietWaitMs: 30_000,
        // The concurrency-1 target is read interleaved (bare, lash, lash, bare, ...): about 20 s.
        paired: { steps: 3, rounds: 550, warmupRounds: 50 },
      },
      analysis: { processes: 1_500, concurrency: 64, steps: 3 },
      // Two rounds in alternating order, as in section 1: one window per variant varied by ±15%.
      // Four at concurrency 64, where the PostgreSQL target is read.
      whatIf: {
        steps: [3],
        concurrencies: [1, 64],
        warmupMs: 1_000,
        measureMs: 5_000,
        maxRequestsPerRound: 20_000,
        rounds: 2,
        targetRounds: { steps: 3, concurrencies: [64], rounds: 4 },
        quietWaitMs: 30_000,
        paired: { steps: 3, rounds: 440, warmupRounds: 40 },
      },
      registry: { rows: 5_000, maxMsPerCell: 3_000, concurrencies: [1, 16] },
      recovery: { sizes: [1_000, 10_000], profileRows: 3_000, timeoutMs: 240_000 },
      cancelMemory: {
        processes: 1_000,
        cancels: 200,
        suspendWaitMs: 120_000,
        timeoutMs: 120_000,
        variants: [{ nodeFlags: "--max-semi-space-size=8" }, { fromSource: true }] as { nodeFlags?: string; fromSource?: boolean }[],
      },
      memoryRepeats: { processes: 1_000, repeats: 5, timeoutMs: 120_000 },
      // Two more stacks for the ratio targets (median of three): about 4 min each.
      targetRepeats: {
        repeats: 2,
        windows: { warmupMs: 1_500, measureMs: 6_000, maxRequestsPerRound: 20_000, rounds: 4, quietWaitMs: 30_000 },
        paired: { steps: 3, rounds: 550, warmupRounds: 50 },
        recoveryRows: 10_000,
        recoveryTimeoutMs: 240_000,
      },
      // A full run takes about 29 min on a quiet machine; up to 4 min more of waiting for quiet.
      deadlineMs: 45 * 60_000,
      /** In all, how long throughput windows may wait for other work on the machine to finish. */
      quietBudgetMs: 4 * 60_000,
    };

const log = (line: string) => console.log(line);
setQuietBudget(CONFIG.quietBudgetMs);
let stopping = false;
async function stop(code: number, why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    markStopping();
    console.error(`bench: ${why}; stopping everything it started`);
    await runCleanups();
    // A scenario may have registered more while the first pass ran: once more, then leave.
    await delay(200);
    await runCleanups();
    closeClient();
    process.exit(code);
  }
  return new Promise<never>(() => {});
}
process.once("SIGINT", () => void stop(130, "interrupted"));
process.once("SIGTERM", () => void stop(143, "terminated"));
const deadline = setTimeout(() => void stop(1, `over the ${CONFIG.deadlineMs / 60_000} min deadline`), CONFIG.deadlineMs);

function machineInfo(): MachineInfo {
  const pkg = (name: string) => (JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    restateServer: pkg("@restatedev/restate-server"),
    sdk: pkg("@restatedev/restate-sdk"),
    commit: git("rev-parse", "--short", "HEAD"),
    dirty: git("status", "--porcelain", "--", "src").length > 0,
    loadAvgStart: loadAverage(),
    loadAvgEnd: Number.NaN,
  };
}

/** `--only throughput,cancelMemory`: run just these sections (keys of the results), for quick iterations; the report marks the rest not measured. */
const onlyIndex = process.argv.indexOf("--only");
const only = onlyIndex > 0 ? new Set(process.argv[onlyIndex + 1]!.split(",")) : undefined;

/** `--variants postgres,memory`: run just these what-if variants (names as in bench/whatif-bench.ts). */
const variantsIndex = process.argv.indexOf("--variants");
const variants = variantsIndex > 0 ? new Set(process.argv[variantsIndex + 1]!.split(",")) : undefined;

async function section<T>(key: string, name: string, errors: { section: string; error: string }[], fn: () => Promise<T>): Promise<T | undefined> {
  if (isStopping() || (only !== undefined && !only.has(key))) return undefined;
  const t0 = performance.now();
  log(`== ${name}`);
  try {
    const value = await fn();
    log(`   (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    return value;
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`   FAILED: ${message}`);
    errors.push({ section: name, error: message.split("\n").slice(0, 6).join("\n") });
    await runCleanups(); // whatever the failed scenario left running
    return undefined;
  }
}

const started = performance.now();
const results: BenchResults = {
  mode: quick ? "quick" : "full",
  date: new Date().toISOString(),
  machine: machineInfo(),
  config: CONFIG,
  errors: [],
  seconds: 0,
};
try {
  const errors = results.errors;
  const section1 = await section("throughput", "1. throughput and latency, lash vs bare", errors, () => runThroughputInFreshStack(CONFIG.throughput, log));
  results.throughput = section1?.cells;
  results.paired = section1?.paired;
  results.analysis = await section("analysis", "1b. where the overhead goes: journal, registry calls, CPU profiles", errors, () =>
    runAnalysis(CONFIG.analysis, log),
  );
  results.whatIf = await section("whatIf", "1c. what-if: registry variants", errors, () => runWhatIf(CONFIG.whatIf, log, variants));
  results.registry = await section("registry", "2. registry micro-benchmarks", errors, () => runRegistryBench(CONFIG.registry, log));
  results.recovery = await section("recovery", "3. recovery sweep", errors, async () => {
    const out = [];
    for (const rows of CONFIG.recovery.sizes) out.push(await runRecovery(rows, { timeoutMs: CONFIG.recovery.timeoutMs }, log));
    return out;
  });
  if (CONFIG.recovery.profileRows > 0) {
    results.recoveryProfile = await section("recoveryProfile", "3b. recovery sweep, profiled", errors, () =>
      runRecovery(CONFIG.recovery.profileRows, { timeoutMs: CONFIG.recovery.timeoutMs, profile: true }, log),
    );
  }
  results.cancelMemory = await section("cancelMemory", "4+5. cancel latency and memory", errors, async () => {
    const out = [await runCancelMemory(CONFIG.cancelMemory, log)];
    for (const variant of CONFIG.cancelMemory.variants) {
      log(` variant: endpoints ${variant.fromSource ? "from TypeScript source" : `with ${variant.nodeFlags}`}`);
      out.push(await runCancelMemory({ ...CONFIG.cancelMemory, cancels: 30, ...variant }, log));
    }
    return out;
  });
  results.memoryRepeats = await section("memoryRepeats", "5b. memory, the same burst in fresh stacks", errors, () =>
    runMemoryRepeats(CONFIG.memoryRepeats, log),
  );
  results.targetRepeats = await section("targetRepeats", "6. the ratio targets again, in fresh stacks", errors, () =>
    runTargetRepeats(CONFIG.targetRepeats, log),
  );
  // Interrupted: never overwrite a report with a partial run; stop() exits once everything is stopped.
  if (isStopping()) await new Promise<never>(() => {});
  results.machine.loadAvgEnd = loadAverage();
  results.seconds = (performance.now() - started) / 1000;
  mkdirSync(dirname(outPath), { recursive: true });
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify(results, null, 1));
  writeFileSync(outPath, renderReport(results, quick ? undefined : baseline()));
  log(
    `wrote ${outPath} and ${jsonOut} in ${(results.seconds / 60).toFixed(1)} min${results.errors.length ? ` (${results.errors.length} section(s) failed)` : ""}`,
  );
} finally {
  clearTimeout(deadline);
  await runCleanups();
  closeClient();
}
process.exit(results.errors.length > 0 ? 1 : 0);
