import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { runNode } from "./support/child.ts";

const HOOK = fileURLToPath(new URL("./support/loaded-packages.ts", import.meta.url));
const ENDPOINT = new URL("../src/endpoint.ts", import.meta.url).href;

// Each of these costs 20-35 MB of resident memory per endpoint (BENCHMARKS.md, memory), and most
// endpoints never use them: they are loaded on first use (a session turn, metrics, tracing, `lashctl mcp`).
it("loading the endpoint does not load openai, the MCP SDK, prom-client, OpenTelemetry or pg", async () => {
  const child = await runNode(["--import", HOOK, "--input-type=module", "-e", `await import(${JSON.stringify(ENDPOINT)});`]);
  assert.equal(child.code, 0, child.stderr);
  const loaded = /^LOADED (.*)$/m.exec(child.stdout)?.[1]?.split(" ") ?? [];
  assert.ok(loaded.includes("@restatedev/restate-sdk"), `the hook saw the endpoint's packages: ${loaded.join(", ")}`);
  const eager = loaded.filter((name) => /^(openai|@modelcontextprotocol\/|prom-client|@opentelemetry\/|pg)/.test(name));
  assert.deepEqual(eager, []);
});
