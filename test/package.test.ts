/**
 * The package as an agent host gets it: `npm pack`, installed into a copy of
 * `examples/` (a consumer project of its own) from the tarball, with npm's
 * cache preferred over the network. One pack and one install serve every case:
 * the tarball's contents, a type check (NodeNext, strict) where a wrong argument
 * type must fail to compile, imports from plain Node 24 (the client loading no
 * `node:` module), the `pg` peer's error, `lashctl dev` without restate-server,
 * then the README's "Use it from your agent host" commands: the consumer's
 * endpoint from the installed package under `lashctl dev` against a real
 * restate-server, the typed host, the testing kit, `lashctl --version`.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { cp, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { devEnv, freeDevPorts } from "./dev-stack-runner.ts";
import { outputMatches, readmeBlocks, type ReadmeBlock } from "./readme-blocks.ts";
import { keepTestData, pidGone } from "./support/child.ts";
import { REPO_ROOT, waitFor } from "./support/restate-server.ts";

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
const hostBlocks = readmeBlocks().filter((b) => b.test?.group === "host");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("the packed package in a consumer project (examples/)", () => {
  let dir: string;
  let consumer: string;
  let tarball: string;
  let packedFiles: string[];
  let env: Record<string, string>;
  const backgrounds: ChildProcess[] = [];

  const sh = (code: string, timeoutMs = 240_000): Promise<Result> => run("bash", ["-e", "-o", "pipefail", "-c", code], { cwd: consumer, env, timeoutMs });
  /** README commands name the package; here it is the tarball just packed. */
  const substitute = (code: string) => code.replace(/\binstall lash-processes\b/g, `install ${tarball}`);
  const ok = (r: Result, what: string) => assert.equal(r.code, 0, `${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lash-pack-"));
    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: REPO_ROOT,
      env: process.env as Record<string, string>,
      timeoutMs: 240_000,
    });
    ok(packed, "npm pack");
    const report = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, report[0]!.filename);
    packedFiles = report[0]!.files.map((f) => f.path);

    consumer = join(dir, "consumer");
    await cp(join(REPO_ROOT, "examples"), consumer, { recursive: true, filter: (src) => !src.includes("node_modules") });
    // The README's install commands add the dependencies; start without them (restate-server comes second).
    const manifest = JSON.parse(readFileSync(join(consumer, "package.json"), "utf8")) as Record<string, unknown>;
    delete manifest.dependencies;
    delete manifest.devDependencies;
    await writeFile(join(consumer, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("RESTATE_") && !k.startsWith("LASH_") && !k.startsWith("npm_") && k !== "NODE_TEST_CONTEXT"),
    );
    env = {
      ...(inherited as Record<string, string>),
      // Plain Node 24 (the one running this test) first on PATH, as a host's machine would have it.
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
      ...devEnv(await freeDevPorts()),
      LASH_DEV_DIR: join(consumer, ".lash"),
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
      NO_COLOR: "1",
    };
    const install = hostBlocks[0];
    assert.ok(install && /npm install lash-processes/.test(install.code), "the README's host section starts with the install commands");
    const [first, ...rest] = install.code.split("\n");
    ok(await sh(substitute(first!)), first!);
    // Before restate-server is installed: lashctl dev says how to add it.
    const dev = await sh("npx lashctl dev", 60_000);
    assert.equal(dev.code, 1, dev.stderr);
    assert.match(dev.stderr, /^lashctl: restate-server is not installed in .*npm i -D @restatedev\/restate-server/m);
    assert.doesNotMatch(dev.stderr, /\n\s+at /, "a sentence, not a stack trace");
    ok(await sh(substitute(rest.join("\n"))), rest.join("\n"));
  });

  after(async () => {
    for (const child of backgrounds) await stopGroup(child);
    if (!keepTestData()) await rm(dir, { recursive: true, force: true });
  });

  it("ships dist/ (JS, types, maps), README, LICENSE: no sources, tests or benches", () => {
    for (const f of packedFiles) assert.match(f, /^(dist\/|README\.md$|LICENSE$|package\.json$|restate\.toml$)/, f);
    for (const f of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/index.js.map",
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/testing/index.js",
      "dist/cli/bin.js",
      "LICENSE",
    ]) {
      assert.ok(packedFiles.includes(f), `${f} is in the tarball`);
    }
    assert.match(readFileSync(join(consumer, "node_modules", "lash-processes", "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
  });

  it("type-checks a consumer (NodeNext, strict); a wrong argument type is a compile error", async () => {
    await writeFile(
      join(consumer, "wrong-args.ts"),
      [
        'import { LashProcessClient } from "lash-processes/client";',
        'import { add } from "./tools.ts";',
        'const client = new LashProcessClient({ ingressUrl: "http://127.0.0.1:8080" });',
        'await client.start(add, { a: 1, b: "two" });',
        "",
      ].join("\n"),
    );
    try {
      const r = await sh("npx tsc --noEmit");
      assert.notEqual(r.code, 0, "the wrong argument compiled");
      const errors = r.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
      assert.equal(errors.length, 1, r.stdout);
      assert.match(errors[0]!, /^wrong-args\.ts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    } finally {
      await rm(join(consumer, "wrong-args.ts"));
    }
  });

  it("imports lash-processes, /client and /testing from plain Node 24; /client loads no node: module", async () => {
    const script = [
      'import { registerHooks } from "node:module";',
      "const builtins = [];",
      "const ours = [];",
      'registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); if (r.url.startsWith("node:")) builtins.push(`${specifier} from ${context.parentURL}`); const m = /\\/lash-processes\\/dist\\/(.*)$/.exec(r.url); if (m) ours.push(m[1]); return r; } });',
      'const client = await import("lash-processes/client");',
      "const clientBuiltins = [...builtins];",
      "const clientModules = [...new Set(ours)];",
      'const root = await import("lash-processes");',
      'const testing = await import("lash-processes/testing");',
      "console.log(JSON.stringify({ clientBuiltins, clientModules, root: Object.keys(root), client: Object.keys(client), testing: Object.keys(testing), same: root.LashProcessClient === client.LashProcessClient }));",
    ].join("\n");
    await writeFile(join(consumer, "imports.mjs"), script);
    const r = await sh("node imports.mjs");
    ok(r, "node imports.mjs");
    const got = JSON.parse(r.stdout) as {
      clientBuiltins: string[];
      clientModules: string[];
      root: string[];
      client: string[];
      testing: string[];
      same: boolean;
    };
    assert.deepEqual(got.clientBuiltins, [], "lash-processes/client imported node: modules");
    assert.ok(got.clientModules.includes("client/index.js"), JSON.stringify(got.clientModules));
    for (const file of got.clientModules) assert.match(file, /^(client|model)\//, `lash-processes/client loaded ${file}`);
    assert.ok(!got.clientModules.includes("model/canonical.js"), "the client does not load the model's node:crypto part");
    for (const name of ["createLashEndpoint", "defineTool", "defineProgram", "definePlugin", "openRegistry", "LashProcessClient", "ProcessRegistration"])
      assert.ok(got.root.includes(name), name);
    for (const name of ["LashProcessClient", "toolRef", "programRef", "LashClientError", "StartResult", "CancelResult", "CompleteResult"])
      assert.ok(got.client.includes(name), name);
    assert.ok(got.testing.includes("createTestEnvironment"));
    assert.equal(got.same, true, "one client class");
  });

  /**
   * Runs `body` (lines of an ES module) in the consumer after opening a memory registry with process "p",
   * whose event type "e" has a payloadSchema with `pattern`; `body` prints one JSON line, returned parsed.
   */
  const runWithPatternSchema = async <T>(file: string, pattern: string, body: string[]): Promise<T> => {
    const script = [
      'import { openRegistry } from "lash-processes";',
      'const registry = await openRegistry("memory:");',
      `const schema = { type: "string", pattern: ${JSON.stringify(pattern)} };`,
      'await registry.register({ id: "p", input: { type: "external" }, eventTypes: [{ name: "e", payloadSchema: schema }], provenance: { ownerScope: { sessionId: "s" }, hostProfileId: "" } });',
      ...body,
      "await registry.close();",
    ].join("\n");
    await writeFile(join(consumer, file), script);
    const r = await sh(`node ${file}`, 60_000);
    ok(r, `node ${file}`);
    return JSON.parse(r.stdout) as T;
  };

  it("a payloadSchema pattern is evaluated in the installed package's worker thread, with its time limit", async () => {
    const got = await runWithPatternSchema<{ sequence: number; slow: string }>("pattern.mjs", "^\\w*\\w*\\w*!$", [
      'const ok = await registry.appendEvent("p", { type: "e", payload: "fine!" });',
      'const slow = await registry.appendEvent("p", { type: "e", payload: "a".repeat(3000) }).catch((e) => `${e.code}: ${e.message}`);',
      "console.log(JSON.stringify({ sequence: ok.sequence, slow }));",
    ]);
    assert.equal(got.sequence, 1);
    assert.match(got.slow, /^event_payload_invalid: event\.payload: the payloadSchema of "e" took longer than 1000 ms/);
  });

  it("without the worker's script (a bundle that left it out) a payloadSchema pattern fails naming the file, and nothing is written", async () => {
    // A deployment fault, not a verdict on the caller's schema: a plain Error (Restate retries it), no event code.
    const worker = join(consumer, "node_modules/lash-processes/dist/registry/schema-check-worker.js");
    await rename(worker, `${worker}.away`);
    try {
      const got = await runWithPatternSchema<{ failed?: { code: string | null; message: string }; events: number }>("no-worker.mjs", "^\\w+!$", [
        'const failed = await registry.appendEvent("p", { type: "e", payload: "fine!" }).then(() => undefined, (e) => ({ code: e.code ?? null, message: e.message }));',
        'console.log(JSON.stringify({ failed, events: (await registry.eventsAfter("p", 0)).length }));',
      ]);
      assert.equal(got.failed?.code, null, `a plain Error, not a LashError: ${JSON.stringify(got.failed)}`);
      assert.match(got.failed?.message ?? "", /the schema checker's worker thread could not start \(file:.*\/schema-check-worker\.js\)/);
      assert.equal(got.events, 0);
    } finally {
      await rename(`${worker}.away`, worker);
    }
  });

  it("a postgres:// registry without the optional peer pg names the package", async () => {
    await writeFile(
      join(consumer, "pg.mjs"),
      'import { openRegistry } from "lash-processes";\nawait openRegistry("postgres://postgres@127.0.0.1:5432/test").then(() => console.log("opened"), (e) => console.log(e.message));\n',
    );
    const r = await sh("node pg.mjs");
    ok(r, "node pg.mjs");
    assert.match(r.stdout, /needs the package `pg`.*npm install pg/);
  });

  it("runs the README's host section: the endpoint under lashctl dev, the typed host, the testing kit, lashctl --version", async () => {
    for (const block of hostBlocks.slice(1)) {
      if (block.test?.background) {
        backgrounds.push(await startBackground(block));
        continue;
      }
      const r = await sh(block.code);
      ok(r, `README line ${block.line}`);
      if (block.output) {
        assert.ok(
          outputMatches(r.stdout, block.output.text, block.output.excerpt),
          `README line ${block.line}\n--- expected ---\n${block.output.text}\n--- actual ---\n${r.stdout}`,
        );
      }
    }
    const version = await sh("npx lashctl --version");
    assert.equal(version.stdout.trim(), VERSION);
    const pids = JSON.parse(readFileSync(join(consumer, ".lash", "dev.pids"), "utf8")) as Record<string, number>;
    for (const child of backgrounds.splice(0)) await stopGroup(child);
    await waitFor(() => Object.values(pids).every(pidGone), { timeoutMs: 30_000, what: "every pid of the consumer's dev stack to exit" });
  });

  async function startBackground(block: ReadmeBlock): Promise<ChildProcess> {
    const child = spawn("bash", ["-c", block.code], { cwd: consumer, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const ready = block.test!.ready!;
    await waitFor(
      () => {
        if (out.includes(ready)) return true;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`README line ${block.line} exited before "${ready}":\n${out}`);
        return false;
      },
      { timeoutMs: 120_000, intervalMs: 100, what: `README line ${block.line} to print "${ready}"` },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- output ---\n${out}`);
    });
    return child;
  }
});

function run(command: string, args: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** SIGINT to the whole process group (npx, lashctl, its children), SIGKILL if it is still there after 30 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid!, "SIGINT");
  const timeout = new Promise((r) => setTimeout(() => r("timeout"), 30_000).unref());
  if ((await Promise.race([exited, timeout])) === "timeout") {
    process.kill(-child.pid!, "SIGKILL");
    await exited;
  }
}
