/**
 * The endpoint children run as compiled JavaScript, as the npm package (`dist/`) and a
 * deployment (`node dist/main.js`) run them, not from TypeScript source: Node's type
 * stripping costs each process about 30 MiB of resident memory (amaro, and every source
 * text it transformed), which a deployed endpoint does not pay. `tsc` compiles both entries
 * (bench/tsconfig.build.json) into bench/.build once per bench run; `LASH_BENCH_FROM_SOURCE=1`
 * runs the .ts entries instead (the memory section reports that variant too).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../test/support/restate-server.ts";

export type EndpointEntry = "bench/lash-endpoint" | "bench/bare-endpoint";

let built: Promise<void> | undefined;

/** The file to run for `entry` (relative to the repository), compiling on first use. */
export async function endpointEntry(entry: EndpointEntry, fromSource = process.env.LASH_BENCH_FROM_SOURCE === "1"): Promise<string> {
  if (fromSource) return `${entry}.ts`;
  built ??= promisify(execFile)(process.execPath, [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "bench/tsconfig.build.json"], {
    cwd: REPO_ROOT,
    timeout: 120_000,
  }).then(() => undefined);
  await built;
  return `bench/.build/${entry}.js`;
}
