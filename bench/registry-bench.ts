/**
 * Scenario 2: the registry alone, per adapter (SQLite file; PostgreSQL when its
 * adapter is there): register, appendEvent, complete, listNonTerminal(256), each
 * at concurrency 1 and 16 (one client process; SQLite is synchronous, so 16
 * callers still commit one after another). Bounded in count and time per cell.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openRegistry } from "../src/registry/open-registry.ts";
import type { ProcessRegistry } from "../src/registry/port.ts";
import { onCleanup } from "./lib/cleanup.ts";
import { closedLoop } from "./lib/load.ts";
import { registrationFor, toolCall } from "./lib/requests.ts";
import { summarize } from "./lib/stats.ts";

export const PG_URL = process.env.LASH_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface RegistryCell {
  backend: string;
  op: string;
  concurrency: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  n: number;
  errors: number;
  firstError?: string;
}

export interface RegistryBenchResult {
  cells: RegistryCell[];
  /** Backends that could not be measured, and why. */
  skipped: { backend: string; reason: string }[];
  /** Rows in the table when listNonTerminal ran. */
  rows: number;
}

export interface RegistryBenchOptions {
  /** Rows registered per concurrency level (an upper bound; the time bound may stop earlier). */
  rows: number;
  maxMsPerCell: number;
  concurrencies: number[];
}

export async function runRegistryBench(opts: RegistryBenchOptions, log: (line: string) => void): Promise<RegistryBenchResult> {
  const result: RegistryBenchResult = { cells: [], skipped: [], rows: 0 };
  // SQLite: a fresh file, opened as the endpoint opens it.
  const dir = await mkdtemp(join(tmpdir(), "lash-bench-registry-"));
  const removeDir = onCleanup(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  try {
    const sqlite = await openRegistry(`sqlite:${join(dir, "registry.db")}`);
    try {
      result.rows = await measureBackend("sqlite", sqlite, opts, result.cells, log);
    } finally {
      await sqlite.close();
    }
  } finally {
    removeDir();
    await rm(dir, { recursive: true, force: true });
  }

  // PostgreSQL: a fresh schema, dropped afterwards.
  const schema = `lash_bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  let postgres: ProcessRegistry | undefined;
  try {
    postgres = await openRegistry(pgUrlWithSchema(schema));
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0]!;
    result.skipped.push({ backend: "postgres", reason });
    log(`  postgres skipped: ${reason}`);
  }
  if (postgres !== undefined) {
    const dropSchema = onCleanup(`postgres schema ${schema}`, () => dropPgSchema(schema));
    try {
      await measureBackend("postgres", postgres, opts, result.cells, log);
    } finally {
      await postgres.close();
      dropSchema();
      await dropPgSchema(schema);
    }
  }
  return result;
}

/** `PG_URL` pointing the registry at `schema` (created on open), with a pool of `LASH_BENCH_PG_POOL` (default 16). */
export function pgUrlWithSchema(schema: string, pool = Number(process.env.LASH_BENCH_PG_POOL ?? 16)): string {
  const url = new URL(PG_URL);
  url.searchParams.set("schema", schema);
  url.searchParams.set("pool", String(pool));
  return url.toString();
}

export async function dropPgSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Measures every op on one registry; returns how many rows the table had for listNonTerminal. */
async function measureBackend(
  backend: string,
  registry: ProcessRegistry,
  opts: RegistryBenchOptions,
  cells: RegistryCell[],
  log: (line: string) => void,
): Promise<number> {
  const reg = (id: string) => ({ ...registrationFor(id, toolCall("std.echo", { value: id })), eventTypes: [{ name: "bench.tick" }] });
  const measure = async (op: string, concurrency: number, maxRequests: number, request: (i: number) => Promise<unknown>) => {
    const res = await closedLoop({ concurrency, durationMs: opts.maxMsPerCell, maxRequests, request: async (i) => void (await request(i)) });
    const lat = summarize(res.latenciesMs);
    const cell: RegistryCell = {
      backend,
      op,
      concurrency,
      opsPerSec: res.completed / (res.elapsedMs / 1000),
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      n: res.completed,
      errors: res.errors,
    };
    if (res.firstError !== undefined) cell.firstError = res.firstError;
    cells.push(cell);
    log(
      `  ${backend.padEnd(8)} ${op.padEnd(22)} c=${String(concurrency).padStart(2)}: ${cell.opsPerSec.toFixed(0)} ops/s p50=${lat.p50.toFixed(3)}ms p99=${lat.p99.toFixed(3)}ms n=${cell.n}${cell.errors ? ` errors=${cell.errors} (${cell.firstError})` : ""}`,
    );
    return res.completed;
  };

  let total = 0;
  for (const c of opts.concurrencies) {
    const prefix = `c${c}`;
    const registered = await measure("register", c, opts.rows, (i) => registry.register(reg(`${prefix}-${i}`)));
    total += registered;
    // Events spread over the first 100 processes, with replay keys (as `emit` and signals write them).
    const spread = Math.max(1, Math.min(100, registered));
    await measure("appendEvent", c, opts.rows, (i) =>
      registry.appendEvent(`${prefix}-${i % spread}`, { type: "bench.tick", payload: { i }, replayKey: `${prefix}-e${i}` }),
    );
    // Complete the second half (the first half stays live for listNonTerminal).
    const half = Math.floor(registered / 2);
    await measure("complete", c, registered - half, (i) => registry.complete(`${prefix}-${half + i}`, { type: "success", value: i }));
  }
  for (const c of opts.concurrencies) {
    // Keyset paging through the live rows, starting over at the end.
    let cursor: string | undefined;
    await measure("listNonTerminal(256)", c, opts.rows, async () => {
      const page = await registry.listNonTerminal(256, cursor);
      cursor = page.nextCursor;
    });
  }
  return total;
}
