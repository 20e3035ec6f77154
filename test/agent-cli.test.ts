/**
 * The catalog and the session read path from the outside: `client.tools()`,
 * `lashctl tools` / `session` (table and --json), the catalog's handling of schemas
 * zod cannot express, and the endpoint's model configuration checks at start.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { LashProcessClient } from "../src/client/index.ts";
import { PluginHost, definePlugin, defineTool } from "../src/runtime/plugin.ts";
import { MemorySessionStore } from "../src/sessions/memory-session-store.ts";
import { lashctl as run } from "./cli-runner.ts";
import { startLashStack, type LashStack } from "./support/lash-stack.ts";
import { REPO_ROOT } from "./support/restate-server.ts";

const odd = defineTool({
  name: "test.odd",
  description: "Takes a value zod cannot describe.",
  args: z.object({ when: z.date(), what: z.custom<string>((v) => typeof v === "string") }),
  run: async () => null,
});

describe("the catalog", () => {
  it("turns zod schemas into JSON Schema, and parts it cannot express into {}", () => {
    const host = new PluginHost([definePlugin({ name: "t", tools: [odd] })]);
    const entry = host.catalog().find((e) => e.name === "test.odd")!;
    assert.equal(entry.kind, "tool");
    assert.equal(entry.description, "Takes a value zod cannot describe.");
    assert.deepEqual(entry.argsSchema.properties, { when: {}, what: {} });
    assert.deepEqual(entry.argsSchema.required, ["when", "what"]);
  });
});

describe("lashctl tools and session", { timeout: 120_000 }, () => {
  let s: LashStack;
  let env: Record<string, string>;
  const sessions = new MemorySessionStore();
  const lashctl = (...args: string[]) => run(args, { env });

  before(async () => {
    s = await startLashStack({ plugins: [definePlugin({ name: "t", tools: [odd] })], sessions, durability: "durable" });
    env = { RESTATE_INGRESS_URL: s.ingress, RESTATE_ADMIN_URL: s.admin };
    await sessions.append("s-cli", [
      { turnId: "turn-a", attempt: 1, message: { role: "user", content: "hi" }, replayKey: "a/1/0" },
      {
        turnId: "turn-a",
        attempt: 1,
        message: { role: "assistant", content: "hello" },
        usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
        final: true,
        replayKey: "a/1/1",
      },
    ]);
  });
  after(async () => s?.close());

  it("client.tools() and lashctl tools list the catalog", async () => {
    const tools = await new LashProcessClient({ ingressUrl: s.ingress }).tools();
    assert.ok(tools.some((t) => t.name === "test.odd" && t.kind === "tool"));
    const table = await lashctl("tools");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+KIND\s+ARGS\s+DESCRIPTION$/m);
    assert.match(table.stdout, /^test\.odd\s+tool\s+when, what\s+Takes a value/m);
    const json = await lashctl("tools", "--json");
    assert.deepEqual(JSON.parse(json.stdout).tools, tools);
  });

  it("lashctl session prints the conversation; --json gives the entries; bad input is a usage error", async () => {
    const text = await lashctl("session", "s-cli");
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout.trim(), "#1  turn-a  user  hi\n#2  turn-a (final)  assistant  hello  [3 tokens]");
    const json = JSON.parse((await lashctl("session", "s-cli", "--after", "1", "--json")).stdout);
    assert.deepEqual(
      json.entries.map((e: any) => [e.sequence, e.message.content]),
      [[2, "hello"]],
    );
    assert.equal((await lashctl("session", "nobody")).stdout.trim(), "no entries in session nobody");
    const bad = await s.post("/LashProcesses/session", { id: "" });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /id/);
    assert.equal((await lashctl("session", "s-cli", "--limit", "0")).code, 2);
  });
});

describe("the endpoint's model configuration", () => {
  const runMain = (env: Record<string, string>) =>
    spawnSync(process.execPath, ["src/main.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, LASH_REGISTRY_URL: "memory:", LASH_DURABILITY: "inline", LASH_RECOVER_ON_START: "0", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });

  it("needs LASH_MODEL with LASH_MODEL_BASE_URL", () => {
    const r = runMain({ LASH_MODEL_BASE_URL: "http://127.0.0.1:1/v1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /LASH_MODEL: required when LASH_MODEL_BASE_URL is set/);
  });

  it("refuses a LASH_TURN_TOOLS entry the catalog does not have, naming it", () => {
    const r = runMain({ LASH_MODEL_BASE_URL: "http://127.0.0.1:1/v1", LASH_MODEL: "m", LASH_TURN_TOOLS: "std.echo,std.nope" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /LASH_TURN_TOOLS: "std\.nope" is not in this endpoint's catalog/);
  });

  it("refuses a LASH_MODEL_BASE_URL that is not an http(s) URL", () => {
    const r = runMain({ LASH_MODEL_BASE_URL: "ftp://x", LASH_MODEL: "m" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /LASH_MODEL_BASE_URL/);
  });
});
