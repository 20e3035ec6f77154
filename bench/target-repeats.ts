/**
 * The four ratio targets read again in fresh stacks, so a verdict does not rest on one stack.
 * Between stacks on one machine and one day, bare alone moved from 395 to 672 processes/s at
 * 3 steps and concurrency 64, and every ratio has such a reference in its denominator; the
 * report judges each target on the median over section 1/1c/3's stack and these, and shows
 * the range. Each repeat: the SQLite stack's 3-step cells at concurrency 1 and 64 (bare and
 * lash alternating, as in section 1, and interleaved at concurrency 1), the PostgreSQL what-if
 * cell at 64, and a 10,000-row recovery sweep with its std.echo reference.
 */
import { runRecovery, type RecoveryResult } from "./recovery-bench.ts";
import { runThroughputInFreshStack, type PairedLatency, type PairedOptions, type ThroughputCell, type ThroughputOptions } from "./throughput-bench.ts";
import { runWhatIf } from "./whatif-bench.ts";

export interface TargetRepeat {
  /** bare and lash, 3 steps, concurrency 1 and 64, on the product's SQLite registry. */
  sqlite: ThroughputCell[];
  /** bare and lash interleaved at concurrency 1, 3 steps, in the same stack. */
  paired?: PairedLatency;
  /** bare and lash, 3 steps, concurrency 64, on PostgreSQL. */
  postgres: ThroughputCell[];
  recovery: RecoveryResult;
}

export interface TargetRepeatOptions {
  repeats: number;
  /** Window sizes and quiet waits as in section 1; the cells are fixed (3 steps at 1 and 64). */
  windows: Pick<ThroughputOptions, "warmupMs" | "measureMs" | "maxRequestsPerRound" | "rounds" | "quietWaitMs">;
  paired: PairedOptions;
  recoveryRows: number;
  recoveryTimeoutMs: number;
}

export async function runTargetRepeats(opts: TargetRepeatOptions, log: (line: string) => void): Promise<TargetRepeat[]> {
  const out: TargetRepeat[] = [];
  const cells = (concurrencies: number[]) => ({ ...opts.windows, steps: [3], concurrencies, startVariantSteps: [] });
  for (let i = 0; i < opts.repeats; i++) {
    log(` repeat ${i + 1}/${opts.repeats}: sqlite`);
    const sqlite = await runThroughputInFreshStack({ ...cells([1, 64]), paired: opts.paired }, log);
    log(` repeat ${i + 1}/${opts.repeats}: postgres`);
    const pg = await runWhatIf(cells([64]), log, new Set(["postgres"]));
    log(` repeat ${i + 1}/${opts.repeats}: recovery`);
    const recovery = await runRecovery(opts.recoveryRows, { timeoutMs: opts.recoveryTimeoutMs }, log);
    out.push({ sqlite: sqlite.cells, ...(sqlite.paired ? { paired: sqlite.paired } : {}), postgres: pg[0]!.cells, recovery });
  }
  return out;
}
