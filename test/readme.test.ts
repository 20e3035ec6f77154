/**
 * The README cannot drift: every shell block in it is marked and run here,
 * in document order, against a real dev stack (`lashctl dev` on free ports in a
 * temp "checkout" that links the repo's files), and what each prints is checked
 * against the output block shown after it. Static parts are checked too: the
 * quoted example file, the configuration table (every EnvConfig variable), the
 * exit codes, and the `## Recovery` section another change fills in.
 *
 * The two `ci` blocks are not run here: `npm ci && npm start` and `npm test` are
 * what CI itself runs (`.ci/run` is `npm ci` then `npm test`, and this test is
 * part of `npm test`), and `npm start` is exercised below (the security section
 * starts the stack with it) and by test/dev-stack.test.ts (`lashctl dev`).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EnvConfig } from "../src/config.ts";
import { helpText } from "../src/cli/lashctl.ts";
import { devEnv, freeDevPorts, startDev, type DevPorts, type DevStackProcess } from "./dev-stack-runner.ts";
import { outputMatches, readReadme, readmeBlocks, type ReadmeBlock } from "./readme-blocks.ts";
import { keepTestData, pidGone } from "./support/child.ts";
import { linkedExamples } from "./support/linked-examples.ts";
import { freePort } from "./support/ports.ts";
import { REPO_ROOT, waitFor } from "./support/restate-server.ts";

const blocks = readmeBlocks();
/** Groups run elsewhere: `host` runs in the packed-package consumer project (test/package.test.ts). */
const runnable = (group: string) => blocks.filter((b) => b.test && !b.test.ci && !b.test.file && (b.test.group ?? "main") === group);

interface Background {
  block: ReadmeBlock;
  child: ChildProcess;
  output(): string;
}

describe("README", { timeout: 240_000 }, () => {
  let work: string;
  let ports: DevPorts;
  let extraPorts: Record<string, number>;
  let database: string;
  let env: Record<string, string>;
  let dev: DevStackProcess | undefined;
  const backgrounds: Background[] = [];

  /** README defaults -> this run's free ports and database. */
  const substitute = (text: string) =>
    text
      .replace(
        /(127\.0\.0\.1:|PORT=|--port )(8080|9070|9080|9081|9082|9083|9085|9086|9091|9464)\b/g,
        (_m, prefix: string, port: string) => `${prefix}${mapPort(port)}`,
      )
      .replace(/\blash_processes\b/g, database); // the database name, not the lash_processes_* metric names
  const mapPort = (port: string): number =>
    (({ "8080": ports.ingress, "9070": ports.admin, "9080": ports.endpoint }) as Record<string, number>)[port] ?? extraPorts[port]!;

  before(async () => {
    // A checkout-like working dir: the repo's files linked in, so README paths
    // (examples/…, src/…, npx lashctl) work and everything written lands here.
    work = await mkdtemp(join(tmpdir(), "lash-readme-"));
    for (const entry of ["package.json", "node_modules", "src", "dist", "restate.toml", "tsconfig.json"]) {
      await symlink(join(REPO_ROOT, entry), join(work, entry));
    }
    await linkedExamples(work);
    ports = await freeDevPorts();
    extraPorts = { "9081": await freePort(), "9082": await freePort(), "9083": await freePort(), "9091": await freePort(), "9464": await freePort() };
    database = `lash_readme_${process.pid}_${Date.now().toString(36)}`;
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RESTATE_") && !k.startsWith("LASH_")));
    env = { ...(inherited as Record<string, string>), ...devEnv(ports), NO_COLOR: "1" };
  });

  after(async () => {
    for (const bg of backgrounds) await stopBackground(bg);
    await dev?.stop("SIGINT");
    await runShell(`dropdb --if-exists -h 127.0.0.1 -U postgres ${database}`, env, REPO_ROOT).catch(() => undefined);
    if (!keepTestData()) await rm(work, { recursive: true, force: true });
  });

  it("marks every shell block, and the ci blocks are exactly what .ci/run and npm start run", () => {
    const shell = blocks.filter((b) => b.lang === "sh" || b.lang === "bash" || b.lang === "shell");
    for (const b of shell) assert.ok(b.test, `README line ${b.line}: a shell block without <!-- readme-test --> is not run by any test`);
    assert.deepEqual(
      shell.filter((b) => b.test?.ci).map((b) => b.code),
      ["npm ci && npm start", "npm test"],
    );
    const ci = readFileSync(join(REPO_ROOT, ".ci", "run"), "utf8");
    assert.match(ci, /^npm ci$/m);
    assert.match(ci, /^npm test$/m);
    assert.match(ci, /^set -euo pipefail$/m);
    const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.equal(scripts.start, "node src/cli/bin.ts dev");
    for (const b of blocks.filter((x) => x.test && !x.test.ci && !x.test.file)) assert.ok(b.lang === "sh", `README line ${b.line}`);
  });

  it("quotes examples/custom-endpoint.ts as it is", () => {
    const quoted = blocks.filter((b) => b.test?.file);
    assert.ok(quoted.length >= 1);
    for (const b of quoted)
      assert.equal(`${b.code}\n`, readFileSync(join(REPO_ROOT, b.test!.file!), "utf8"), `README line ${b.line} differs from ${b.test!.file}`);
  });

  it("documents every configuration variable, the exit codes, and keeps a Recovery section", () => {
    const readme = readReadme();
    for (const variable of Object.keys(EnvConfig.shape))
      assert.match(readme, new RegExp(`^\\| \`${variable}\` \\|`, "m"), `${variable} missing from the configuration table`);
    for (const variable of ["LASH_DEV_DIR", "LASH_DEV_NODE_PORT", "LASH_DEV_ENDPOINT_URI", "LASH_DEV_ENTRY"])
      assert.match(readme, new RegExp(`\`${variable}\``));
    const help = helpText();
    for (const code of ["0", "1", "2", "3", "130"]) {
      assert.match(readme, new RegExp(`^\\| \`${code}\` \\|`, "m"), `exit code ${code} missing from the README`);
      assert.match(help, new RegExp(`^  ${code} `, "m"), `exit code ${code} missing from lashctl --help`);
    }
    assert.match(readme, /^## Recovery$/m);
  });

  it("runs the quickstart, the plugin example and the security key commands against a dev stack", async () => {
    dev = await startDev({ cwd: work, env });
    for (const block of runnable("main")) await runBlock(block);
  });

  it("runs a sub-agent turn against the scripted model and the MCP server", async () => {
    // Taken right before use: a port found free minutes earlier may be an outgoing connection's by now.
    extraPorts["9085"] = await freePort();
    extraPorts["9086"] = await freePort();
    for (const block of runnable("agent")) await runBlock(block);
  });

  it("runs the PostgreSQL deployment commands", async () => {
    const postgres = runnable("postgres");
    assert.ok(postgres.length > 0, "the README has no PostgreSQL blocks (group=postgres) to run");
    for (const block of postgres) await runBlock(block);
  });

  it("runs the signed dev stack (npm start with request identity), and unsigned requests are refused", async () => {
    await dev?.stop("SIGINT");
    dev = undefined;
    for (const bg of backgrounds.splice(0)) await stopBackground(bg);
    // A fresh data dir: the signed stack must not inherit the deployments registered above.
    env = { ...env, LASH_DEV_DIR: ".lash-signed" };
    for (const block of runnable("security")) await runBlock(block);
    const pids = JSON.parse(readFileSync(join(work, ".lash-signed", "dev.pids"), "utf8")) as Record<string, number>;
    for (const bg of backgrounds.splice(0)) await stopBackground(bg);
    await waitFor(() => Object.values(pids).every(pidGone), { timeoutMs: 30_000, what: "every pid of the signed dev stack to exit" });
    assert.ok(!existsSync(join(work, ".lash-signed", "dev.pids")));
  });

  /** Runs one block; background blocks keep running until stopped. */
  async function runBlock(block: ReadmeBlock): Promise<void> {
    const code = substitute(block.code);
    if (block.test?.background) {
      const bg = startBackground(block, code);
      backgrounds.push(bg);
      const ready = block.test.ready!;
      try {
        await waitFor(
          () => {
            if (bg.output().includes(ready)) return true;
            if (bg.child.exitCode !== null || bg.child.signalCode !== null) throw new Error(`exited before "${ready}"`);
            return false;
          },
          { timeoutMs: 90_000, intervalMs: 100, what: `README line ${block.line} to print "${ready}"` },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- output ---\n${bg.output()}`, { cause: err });
      }
      return;
    }
    const result = await runShell(code, env, work);
    assert.equal(
      result.code,
      0,
      `README line ${block.line} exited ${result.code}:\n${code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
    );
    if (block.output) {
      const expected = substitute(block.output.text);
      assert.ok(
        outputMatches(result.stdout, expected, block.output.excerpt),
        `README line ${block.line}: the output differs from the README\n--- expected ---\n${expected}\n--- actual ---\n${result.stdout}`,
      );
    }
  }

  function startBackground(block: ReadmeBlock, code: string): Background {
    // Its own process group, so stopping it reaches npx/npm and the node below them.
    const child = spawn("bash", ["-c", code], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    return { block, child, output: () => out };
  }
});

async function stopBackground(bg: Background): Promise<void> {
  const { child } = bg;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid!, "SIGINT");
  const timeout = new Promise((r) => setTimeout(() => r("timeout"), 20_000).unref());
  if ((await Promise.race([exited, timeout])) === "timeout") {
    process.kill(-child.pid!, "SIGKILL");
    await exited;
  }
}

function runShell(code: string, env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", code], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", reject);
    child.once("close", (exit) => {
      clearTimeout(timer);
      resolve({ code: exit, stdout, stderr });
    });
  });
}
