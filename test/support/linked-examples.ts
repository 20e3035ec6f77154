/**
 * examples/ is a consumer project of its own (test/package.test.ts installs the
 * packed package there). Tests that run its files against this checkout copy it
 * into their work dir with `node_modules/lash-processes` linked to the repo
 * (its built dist/, as `npm link` would), and `zod` resolved from the repo.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT } from "./restate-server.ts";

/** Copies examples/ to `<workDir>/examples` and links the package; returns that directory. */
export async function linkedExamples(workDir: string): Promise<string> {
  assert.ok(existsSync(join(REPO_ROOT, "dist", "index.js")), "dist/ is missing: run `npm run build` first (npm test does)");
  const dir = join(workDir, "examples");
  await cp(join(REPO_ROOT, "examples"), dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await symlink(REPO_ROOT, join(dir, "node_modules", "lash-processes"));
  if (!existsSync(join(dir, "node_modules", "zod"))) await symlink(join(REPO_ROOT, "node_modules", "zod"), join(dir, "node_modules", "zod"));
  return dir;
}
