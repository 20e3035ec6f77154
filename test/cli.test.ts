/**
 * lashctl as a child process against a real restate-server (lash services
 * in-process, plus a small program plugin): output formats, waits, signals,
 * cancellation, recovery, registration, and the exit codes 0/1/2/3.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import type { ProcessAwaitOutput, ProcessEvent, ProcessRecord } from "../src/model/index.ts";
import { definePlugin, defineProgram } from "../src/runtime/plugin.ts";
import type { SweepReport } from "../src/model/wire.ts";
import { freePort } from "./support/ports.ts";
import { startLashStack, type LashStack } from "./support/lash-stack.ts";
import { LASHCTL, lashctl as run } from "./cli-runner.ts";

const cliPlugin = definePlugin({
  name: "cli-test",
  programs: [
    defineProgram({
      name: "cli.greet",
      args: z.object({ name: z.string() }),
      run: async (ctx) => ({ greeting: `hello ${ctx.args.name}` }),
    }),
  ],
});

describe("lashctl", { timeout: 120_000 }, () => {
  let s: LashStack;
  let env: Record<string, string>;
  const lashctl = (...args: string[]) => run(args, { env });

  before(async () => {
    s = await startLashStack({ plugins: [cliPlugin] });
    env = { RESTATE_INGRESS_URL: s.ingress, RESTATE_ADMIN_URL: s.admin };
  });
  after(async () => s?.close());

  it("--help lists every command, the global flags and the exit codes", async () => {
    const r = await lashctl("--help");
    assert.equal(r.code, 0);
    for (const command of ["dev", "start", "list", "get", "events", "signal", "cancel", "await", "recover", "register"]) {
      assert.match(r.stdout, new RegExp(`^  ${command} `, "m"), `help lists ${command}`);
    }
    assert.match(r.stdout, /--ingress URL .*RESTATE_INGRESS_URL/);
    assert.match(r.stdout, /Exit codes:\n {2}0 +ok\n {2}1 .*\n.*\n {2}2 +usage.*\n {2}3 +not found/);
    const sub = await lashctl("start", "--help");
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /Usage: lashctl start <tool\|program:name> \[flags\]/);
    assert.match(sub.stdout, /--wait/);
  });

  it("exits 2 on usage errors and names the bad flag or argument", async () => {
    const cases: [string[], RegExp][] = [
      [[], /missing command/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["list", "--bogus"], /'--bogus'/],
      [["--bogus", "list"], /'--bogus'/],
      [["list", "--limit", "x"], /--limit must be an integer/],
      [["list", "--status", "sleeping"], /--status must be one of/],
      [["start", "std.echo", "--args", "{bad"], /--args is not valid JSON/],
      [["start"], /missing <tool\|program:name>/],
      [["get"], /missing <id>/],
      [["get", "a", "b"], /unexpected argument 'b'/],
      [["recover", "--schedule", "10"], /--schedule must be an integer 1000\.\./],
      [["register", "not-a-url"], /<uri> must be an http\(s\) URL/],
    ];
    for (const [args, message] of cases) {
      const r = await lashctl(...args);
      assert.equal(r.code, 2, `lashctl ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, `lashctl ${args.join(" ")}`);
      assert.equal(r.stdout, "");
    }
  });

  it("start --wait prints events as they arrive, then the outcome (exit 0)", async () => {
    const r = await lashctl("start", "std.echo", "--args", '{"value":{"hi":1}}', "--id", "cli-echo", "--wait");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^started cli-echo \(pending, inv_\w+\)$/);
    assert.match(lines[1]!, /^#1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}process\.started/);
    assert.match(lines[2]!, /^#2 {2}.* {2}process\.completed {2}\{"type":"success","value":\{"hi":1\}\}$/);
    assert.equal(lines[3], 'completed {"hi":1}');
  });

  it("with --json, stdout is one JSON document and the events go to stderr", async () => {
    const waited = await lashctl("--json", "start", "std.echo", "--args", '{"value":7}', "--wait");
    assert.equal(waited.code, 0, waited.stderr);
    assert.deepEqual(JSON.parse(waited.stdout), { type: "success", value: 7 });
    assert.match(waited.stderr, /^started lashctl-\w+-[0-9a-f]{6} \(pending/);
    assert.match(waited.stderr, /process\.completed/);

    const started = await lashctl("start", "program:cli.greet", "--args", '{"name":"Ada"}', "--session", "cli-json", "--json");
    assert.equal(started.code, 0, started.stderr);
    const { id, status } = JSON.parse(started.stdout) as { id: string; status: string };
    assert.match(id, /^lashctl-/);
    assert.equal(status, "pending");
    const awaited = await lashctl("await", id, "--json");
    assert.deepEqual(JSON.parse(awaited.stdout), { type: "success", value: { greeting: "hello Ada" } });
    const record = JSON.parse((await lashctl("get", id, "--json")).stdout) as ProcessRecord;
    assert.deepEqual(record.input, { type: "program", name: "cli.greet", args: { name: "Ada" } });
    assert.deepEqual(record.provenance, { ownerScope: { sessionId: "cli-json" }, hostProfileId: "", causedBy: { kind: "host", id: "lashctl" } });
    const events = (await lashctl("events", id, "--json")).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ProcessEvent);
    assert.deepEqual(
      events.map((e) => e.type),
      ["process.started", "process.completed"],
    );
  });

  it("exits 1 when the process fails or is cancelled, and prints why", async () => {
    const failed = await lashctl("start", "std.fail", "--args", '{"class":"io","code":"disk_full","message":"no space"}', "--id", "cli-fail", "--wait");
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /^failed io\/disk_full: no space$/m);
    assert.equal((await lashctl("await", "cli-fail")).code, 1);

    assert.equal((await lashctl("start", "std.sleep", "--args", '{"ms":60000}', "--id", "cli-sleep")).code, 0);
    const cancel = await lashctl("cancel", "cli-sleep");
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(cancel.stdout.trim(), "cancel requested for cli-sleep");
    const awaited = await lashctl("await", "cli-sleep");
    assert.equal(awaited.code, 1);
    assert.match(awaited.stdout, /process\.cancel_requested/);
    assert.match(awaited.stdout, /^cancelled: process cancelled/m);
    assert.equal((await lashctl("cancel", "cli-sleep")).stdout.trim(), "cli-sleep is already terminal; nothing to cancel");
  });

  it("cancel --reason records the reason", async () => {
    assert.equal((await lashctl("start", "std.sleep", "--args", '{"ms":60000}', "--id", "cli-sleep-2")).code, 0);
    const cancel = await lashctl("cancel", "cli-sleep-2", "--reason", "not needed");
    assert.equal(cancel.code, 0, cancel.stderr);
    const outcome = JSON.parse((await lashctl("await", "cli-sleep-2", "--json")).stdout) as ProcessAwaitOutput;
    assert.partialDeepStrictEqual(outcome, { type: "cancelled", reason: "not needed" });
  });

  it("signal reaches a waiting process while events --follow prints until the terminal event", async () => {
    assert.equal((await lashctl("start", "std.wait_signal", "--args", '{"name":"go"}', "--id", "cli-wait")).code, 0);
    const follow = lashctl("events", "cli-wait", "--follow");
    const sent = await lashctl("signal", "cli-wait", "go", '{"ok":true}');
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /^signal go sent to cli-wait \(event #\d\)$/m);
    const followed = await follow;
    assert.equal(followed.code, 0, followed.stderr);
    const types = followed.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("  ")[2]);
    assert.deepEqual(types.sort(), ["process.completed", "process.started", "signal.go"]);
    assert.match(followed.stdout, /signal\.go {2}\{"ok":true\}/);
    assert.match((await lashctl("get", "cli-wait")).stdout, /^outcome +completed \{"payloads":\[\{"ok":true\}\]\}$/m);
  });

  it("list prints a table, and --json the page", async () => {
    const table = await lashctl("list");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +STATUS +INPUT +SESSION +ATTEMPT +UPDATED$/m);
    assert.match(table.stdout, /^cli-echo +completed +tool std\.echo +cli +1 +\d{4}-/m);
    const page = JSON.parse((await lashctl("list", "--json")).stdout) as { items: { id: string }[] };
    assert.ok(page.items.some((r) => r.id === "cli-fail"));
  });

  it("list filters by status and session, and pages with --limit/--cursor", async () => {
    const failed = JSON.parse((await lashctl("list", "--status", "failed", "--json")).stdout) as { items: { id: string }[] };
    assert.deepEqual(
      failed.items.map((r) => r.id),
      ["cli-fail"],
    );
    const first = await lashctl("list", "--session", "cli", "--limit", "1");
    assert.equal(first.code, 0, first.stderr);
    const cursor = /^more: lashctl list --cursor (\S+)$/m.exec(first.stdout)?.[1];
    assert.ok(cursor, first.stdout);
    const second = await lashctl("list", "--session", "cli", "--limit", "1", "--cursor", cursor);
    assert.notEqual(second.stdout.split("\n")[1], first.stdout.split("\n")[1]);
  });

  it("exits 3 for an unknown process or an unreachable Restate, 1 for a conflict, 2 for input the server rejects", async () => {
    for (const args of [
      ["get", "cli-nope"],
      ["await", "cli-nope"],
      ["events", "cli-nope"],
      ["signal", "cli-nope", "go"],
      ["cancel", "cli-nope"],
    ]) {
      const r = await lashctl(...args);
      assert.equal(r.code, 3, `lashctl ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /not_found: process "cli-nope" is not registered/);
    }
    const port = await freePort();
    const down = await lashctl("--ingress", `http://127.0.0.1:${port}`, "list");
    assert.equal(down.code, 3);
    assert.match(down.stderr, /unreachable/);

    const conflict = await lashctl("start", "std.echo", "--args", '{"value":"other"}', "--id", "cli-echo");
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /registration_conflict/);
    const unknown = await lashctl("start", "program:nope", "--json");
    assert.equal(unknown.code, 2);
    assert.deepEqual((JSON.parse(unknown.stderr) as { error: { field?: string } }).error.field, "registration.input.name");
    const badId = await lashctl("start", "std.echo", "--id", "no spaces");
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /invalid_input: registration\.id/);
  });

  it("recover runs a sweep and prints its report; --schedule and --unschedule", async () => {
    const sweep = await lashctl("recover");
    assert.equal(sweep.code, 0, sweep.stderr);
    assert.match(sweep.stdout, /^recovery sweep of registry default:\n {2}scanned +\d+\n {2}submitted +\d+/);
    const json = JSON.parse((await lashctl("recover", "--json")).stdout) as SweepReport;
    assert.deepEqual(json.failed, []);
    const scheduled = await lashctl("recover", "--schedule", "60000");
    assert.match(scheduled.stdout, /scheduled every 60000 ms/);
    assert.equal((await lashctl("recover", "--unschedule")).code, 0);
  });

  it("register (re-)registers an endpoint with the admin API; an unreachable admin exits 3", async () => {
    const r = await lashctl("register", s.stack.endpoint.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^registered ${s.stack.endpoint.url} as dp_\\w+: .*LashProcessRecovery, LashProcessWorkflow, LashProcesses`));
    const port = await freePort();
    const down = await lashctl("--admin", `http://127.0.0.1:${port}`, "register", s.stack.endpoint.url);
    assert.equal(down.code, 3);
  });

  it("await stops on SIGINT with exit code 130", async () => {
    assert.equal((await lashctl("start", "std.wait_signal", "--args", '{"name":"never"}', "--id", "cli-int")).code, 0);
    const child = spawn(process.execPath, [LASHCTL, "await", "cli-int"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    while (!out.includes("process.started")) await delay(50);
    child.kill("SIGINT");
    const code = await new Promise((r) => child.once("close", r));
    assert.equal(code, 130);
  });
});
