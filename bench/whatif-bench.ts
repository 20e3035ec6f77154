/**
 * What-if runs that isolate the registry's share of lash's overhead: the same
 * 3-step workload with the product's SQLite registry (`synchronous = FULL`), with
 * SQLite at `synchronous = NORMAL` (no fsync per commit in WAL mode), with the
 * in-memory registry (no I/O at all; `LASH_DURABILITY=inline`, benchmark only),
 * and with the product's registry under a smaller V8 young generation.
 * Each variant gets a fresh stack with its own bare endpoint measured alongside.
 */
import { randomBytes } from "node:crypto";
import { onCleanup } from "./lib/cleanup.ts";
import { dropPgSchema, pgUrlWithSchema } from "./registry-bench.ts";
import { runThroughputInFreshStack, type PairedLatency, type ThroughputCell, type ThroughputOptions } from "./throughput-bench.ts";

export interface WhatIfVariant {
  name: string;
  description: string;
  env: Record<string, string>;
}

export const WHAT_IF_VARIANTS: WhatIfVariant[] = [
  { name: "sqlite FULL", description: "the product: SQLite, WAL, synchronous=FULL (fsync per commit)", env: {} },
  { name: "sqlite NORMAL", description: "SQLite, WAL, synchronous=NORMAL (no fsync per commit)", env: { LASH_BENCH_SQLITE_SYNC: "NORMAL" } },
  { name: "memory", description: "in-memory registry (no I/O; not durable)", env: { LASH_REGISTRY_URL: "memory:", LASH_DURABILITY: "inline" } },
  {
    name: "postgres",
    description: "the multi-node registry: PostgreSQL at LASH_BENCH_PG_URL (a fresh schema, dropped afterwards)",
    env: { LASH_REGISTRY_URL: "postgres" },
  },
  {
    name: "sqlite FULL, semi-space 8 MiB",
    description: "the product's registry, endpoint run with `--max-semi-space-size=8` (the memory suggestion: does it cost throughput?)",
    env: { NODE_OPTIONS: "--max-semi-space-size=8" },
  },
];

export interface WhatIfResult {
  variant: string;
  description: string;
  cells: ThroughputCell[];
  paired?: PairedLatency;
}

/** `names`: run only these variants (bench/run.ts `--variants postgres,memory`). */
export async function runWhatIf(
  opts: Omit<ThroughputOptions, "startVariantSteps">,
  log: (line: string) => void,
  names?: ReadonlySet<string>,
): Promise<WhatIfResult[]> {
  const results: WhatIfResult[] = [];
  for (const variant of WHAT_IF_VARIANTS.filter((v) => names === undefined || names.has(v.name))) {
    log(` variant ${variant.name}`);
    // PostgreSQL: a fresh schema per run (`LASH_REGISTRY_URL: "postgres"` stands for it), dropped afterwards.
    const schema = variant.env.LASH_REGISTRY_URL === "postgres" ? `lash_whatif_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}` : undefined;
    const env = schema === undefined ? variant.env : { ...variant.env, LASH_REGISTRY_URL: pgUrlWithSchema(schema) };
    const dropSchema = schema === undefined ? () => {} : onCleanup(`postgres schema ${schema}`, () => dropPgSchema(schema));
    try {
      const run = await runThroughputInFreshStack({ ...opts, startVariantSteps: [] }, log, env);
      results.push({ variant: variant.name, description: variant.description, cells: run.cells, ...(run.paired ? { paired: run.paired } : {}) });
    } finally {
      if (schema !== undefined) {
        dropSchema();
        await dropPgSchema(schema);
      }
    }
  }
  return results;
}
