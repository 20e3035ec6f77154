/**
 * `lashctl dev` (= `npm start`) end to end, on free ports in a temp directory:
 * it comes up, runs processes, stops every pid it started on SIGINT/SIGTERM,
 * finds the earlier processes when started again (a process left running is
 * finished), cleans up what a SIGKILLed run left behind, and uses a Restate
 * server that already answers instead of starting one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { lashctl } from "./cli-runner.ts";
import { devEnv, freeDevPorts, startDev, type DevPorts, type DevStackProcess } from "./dev-stack-runner.ts";
import { keepTestData, pidGone } from "./support/child.ts";
import { linkedExamples } from "./support/linked-examples.ts";
import { startRestateServer, waitFor } from "./support/restate-server.ts";

const allPids = (dev: DevStackProcess) => [dev.pids.lashctl, dev.pids.restateServer, dev.pids.endpoint].filter((p): p is number => p !== undefined);

describe("lashctl dev", { timeout: 180_000 }, () => {
  let cwd: string;
  let ports: DevPorts;
  let env: Record<string, string>;
  const running: DevStackProcess[] = [];
  const cli = (...args: string[]) => lashctl(args, { env, cwd });

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "lash-dev-"));
    ports = await freeDevPorts();
    env = devEnv(ports);
  });
  after(async () => {
    // A failed test must not leak the stack: its children run in their own process groups.
    for (const dev of running) {
      await dev.stop("SIGKILL");
      for (const pid of allPids(dev)) if (!pidGone(pid)) process.kill(pid, "SIGKILL");
    }
    if (!keepTestData()) await rm(cwd, { recursive: true, force: true });
  });

  it("comes up with restate-server and the endpoint, runs a process, and SIGINT stops every pid it started", async () => {
    const dev = await startDev({ cwd, env });
    running.push(dev);
    const out = dev.output();
    assert.match(out, new RegExp(`ingress +http://127\\.0\\.0\\.1:${ports.ingress}`));
    assert.match(out, new RegExp(`Restate UI +http://127\\.0\\.0\\.1:${ports.admin}/ui`));
    assert.match(out, /^Try: .*npx lashctl start std\.echo/m);
    assert.match(out, new RegExp(`pids +lashctl ${dev.pid}, restate-server ${dev.pids.restateServer}, endpoint ${dev.pids.endpoint}`));
    assert.equal(dev.pids.lashctl, dev.pid);
    assert.equal((await fetch(`http://127.0.0.1:${ports.admin}/ui`)).status, 200, "the Restate UI answers");
    assert.ok(existsSync(join(cwd, ".lash", "registry.db")), "the registry lives in ./.lash");
    assert.ok(existsSync(join(cwd, ".lash", "restate", "lash-dev")), "Restate's data lives in ./.lash/restate");

    const echo = await cli("start", "std.echo", "--args", '{"value":"first run"}', "--id", "dev-echo", "--wait");
    assert.equal(echo.code, 0, echo.stderr);
    assert.match(echo.stdout, /^completed "first run"$/m);
    // The dev stack enables the test tools (LASH_ENABLE_TEST_TOOLS=1): std.steps runs.
    const stepsFile = join(cwd, "dev-steps.txt");
    const steps = await cli("start", "std.steps", "--args", JSON.stringify({ count: 2, file: stepsFile }), "--id", "dev-steps", "--wait");
    assert.equal(steps.code, 0, `${steps.stdout}${steps.stderr}`);
    assert.ok(existsSync(stepsFile), "std.steps wrote its file");
    const consoleUrl = /^ {2}console +(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1];
    assert.ok(consoleUrl, `the console URL is printed:\n${out}`);
    const page = await fetch(`${consoleUrl}processes/dev-echo`);
    assert.equal(page.status, 200, "the console answers beside the stack");
    assert.match(await page.text(), /first run/);
    // Still running when the stack stops: the next start must finish it.
    assert.equal((await cli("start", "std.sleep", "--args", '{"ms":3000}', "--id", "dev-nap")).code, 0);

    assert.equal(await dev.stop("SIGINT"), 0);
    assert.match(dev.output(), /^stopped restate-server \(pid \d+\), endpoint \(pid \d+\)$/m);
    for (const pid of allPids(dev)) assert.ok(pidGone(pid), `pid ${pid} still running`);
    assert.ok(!existsSync(join(cwd, ".lash", "dev.pids")), "the pid file is removed");
  });

  it("started again, finds the earlier processes and drives the unfinished one to its end", async () => {
    const dev = await startDev({ cwd, env });
    running.push(dev);
    const list = await cli("list");
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^dev-echo +completed +tool std\.echo/m);
    assert.match(list.stdout, /^dev-nap +\w+ +tool std\.sleep/m);
    const nap = await cli("await", "dev-nap", "--json");
    assert.equal(nap.code, 0, nap.stderr);
    assert.deepEqual(JSON.parse(nap.stdout), { type: "success", value: { sleptMs: 3000 } });
    assert.equal(await dev.stop("SIGTERM"), 0);
    for (const pid of allPids(dev)) assert.ok(pidGone(pid), `pid ${pid} still running`);
  });

  it("cleans up what a SIGKILLed lashctl dev left running", async () => {
    const killed = await startDev({ cwd, env });
    running.push(killed);
    await killed.stop("SIGKILL");
    assert.ok(!pidGone(killed.pids.restateServer!), "restate-server outlives a SIGKILLed lashctl (own process group)");

    const dev = await startDev({ cwd, env });
    running.push(dev);
    assert.match(dev.output(), new RegExp(`stopping the restate-server \\(pid ${killed.pids.restateServer}\\) left by an earlier lashctl dev`));
    for (const pid of allPids(killed)) assert.ok(pidGone(pid), `leftover pid ${pid} still running`);
    assert.match((await cli("get", "dev-echo")).stdout, /^status +completed$/m);
    assert.equal(await dev.stop("SIGINT"), 0);
    for (const pid of allPids(dev)) assert.ok(pidGone(pid), `pid ${pid} still running`);
  });

  it("uses a Restate server that already answers (and leaves it running), with LASH_DEV_ENTRY as the endpoint", async () => {
    const server = await startRestateServer();
    try {
      const endpointPort = (await freeDevPorts()).endpoint;
      const external = {
        RESTATE_INGRESS_URL: server.ingressUrl,
        RESTATE_ADMIN_URL: server.adminUrl,
        PORT: String(endpointPort),
        LASH_DEV_DIR: "external",
        LASH_DEV_ENTRY: join(await linkedExamples(cwd), "custom-endpoint.ts"),
        LASH_LOG_FORMAT: "json",
      };
      const dev = await startDev({ cwd, env: external });
      running.push(dev);
      assert.match(dev.output(), new RegExp(`using the Restate server that answers at ${server.adminUrl}`));
      assert.equal(dev.pids.restateServer, undefined);
      const greet = await lashctl(["start", "greet.hello", "--args", '{"name":"dev"}', "--wait"], { env: external, cwd });
      assert.equal(greet.code, 0, greet.stderr);
      assert.match(greet.stdout, /^completed \{"greeting":"hello dev"\}$/m);
      assert.equal(await dev.stop("SIGINT"), 0);
      for (const pid of allPids(dev)) assert.ok(pidGone(pid), `pid ${pid} still running`);
      // LASH_LOG_FORMAT=json: every line, dev's and the endpoint's, is one JSON object.
      for (const line of dev
        .output()
        .split("\n")
        .filter((l) => l.trim().length > 0)) {
        const record = JSON.parse(line) as { level?: unknown; time?: unknown; message?: unknown };
        assert.deepEqual([typeof record.level, typeof record.time, typeof record.message], ["string", "string", "string"], line);
      }
      assert.ok(!pidGone(server.pid), "the external server is not ours to stop");
      await waitFor(async () => (await fetch(`${server.adminUrl}/health`)).ok, { what: "external Restate still healthy" });
    } finally {
      await server.stop();
    }
  });
});
