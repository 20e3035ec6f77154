/**
 * `lashctl mcp` driven by the MCP SDK's own client over stdio, against a real stack
 * (SQLite and PostgreSQL registries): the catalog's tools as MCP tools, each call a
 * durable process; a call that outlives --wait-ms answers with the process id; the
 * lash_process_* tools for the long ones.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LASHCTL } from "./cli-runner.ts";
import { startLashStack, type LashStack } from "./support/lash-stack.ts";
import { BACKENDS, openBackend, type OpenedBackend } from "./support/turn-backends.ts";

const structured = (result: any): any => result.structuredContent ?? JSON.parse(result.content[0].text);

for (const backend of BACKENDS) {
  describe(`lashctl mcp on ${backend}`, { timeout: 180_000 }, () => {
    let s: LashStack;
    let db: OpenedBackend;
    let client: Client;
    let transport: StdioClientTransport;

    before(async () => {
      db = await openBackend(backend);
      s = await startLashStack({ registry: db.registry, sessions: db.sessions });
      transport = new StdioClientTransport({
        command: process.execPath,
        args: [LASHCTL, "mcp", "--wait-ms", "1000", "--session", "mcp-test"],
        env: { ...(process.env as Record<string, string>), RESTATE_INGRESS_URL: s.ingress },
        stderr: "pipe",
      });
      client = new Client({ name: "lash-test", version: "1.0.0" });
      await client.connect(transport, { timeout: 30_000 });
    });
    after(async () => {
      await client?.close(); // closes stdin; lashctl mcp exits, the transport kills it otherwise
      await s?.close();
      await db?.drop().catch(() => {});
    });

    it("lists the catalog's tools with their JSON Schemas, and the process tools", async () => {
      const { tools } = await client.listTools(undefined, { timeout: 30_000 });
      const names = tools.map((t) => t.name);
      for (const name of ["std.echo", "std.sleep", "std.fanout", "lash_process_status", "lash_process_await", "lash_process_cancel", "lash_process_events"]) {
        assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
      }
      const echo = tools.find((t) => t.name === "std.echo")!;
      assert.equal(echo.inputSchema.type, "object");
      assert.deepEqual(echo.inputSchema.required, ["value"]);
    });

    it("a tool call runs as a durable process and returns its outcome", async () => {
      const result: any = await client.callTool({ name: "std.echo", arguments: { value: { hello: "mcp" } } }, undefined, { timeout: 60_000 });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      const body = structured(result);
      assert.deepEqual(body.outcome, { type: "success", value: { hello: "mcp" } });
      const record = await s.registry.get(body.processId);
      assert.equal(record?.status, "completed");
      assert.equal(record?.provenance.ownerScope.sessionId, "mcp-test");
    });

    it("a failing tool is an MCP error result with the failure; bad arguments name the field", async () => {
      const failed: any = await client.callTool({ name: "std.fail", arguments: { code: "nope", message: "as asked" } }, undefined, { timeout: 60_000 });
      assert.equal(failed.isError, true);
      assert.equal(structured(failed).outcome.code, "nope");
      const bad: any = await client.callTool({ name: "std.sleep", arguments: { ms: "soon" } }, undefined, { timeout: 60_000 });
      assert.equal(bad.isError, true);
      assert.equal(structured(bad).error.code, "invalid_input");
      assert.match(structured(bad).error.message, /args\.ms/);
    });

    it("a call that outlives --wait-ms returns the process id; await, events and cancel work on it", async () => {
      const slow: any = await client.callTool({ name: "std.sleep", arguments: { ms: 2500 } }, undefined, { timeout: 60_000 });
      const { processId, status } = structured(slow);
      assert.match(processId, /^mcp-/);
      assert.ok(["pending", "running", "waiting"].includes(status), status);
      const done: any = await client.callTool({ name: "lash_process_await", arguments: { processId, waitMs: 60_000 } }, undefined, { timeout: 90_000 });
      assert.deepEqual(structured(done).outcome, { type: "success", value: { sleptMs: 2500 } });
      const events: any = await client.callTool({ name: "lash_process_events", arguments: { processId } }, undefined, { timeout: 30_000 });
      assert.deepEqual(
        structured(events).events.map((e: any) => e.type),
        ["process.started", "process.completed"],
      );

      const long: any = await client.callTool({ name: "std.sleep", arguments: { ms: 120_000 } }, undefined, { timeout: 60_000 });
      const longId = structured(long).processId;
      const cancel: any = await client.callTool({ name: "lash_process_cancel", arguments: { processId: longId, reason: "enough" } }, undefined, {
        timeout: 30_000,
      });
      assert.equal(structured(cancel).accepted, true);
      const cancelled: any = await client.callTool({ name: "lash_process_await", arguments: { processId: longId } }, undefined, { timeout: 90_000 });
      assert.equal(structured(cancelled).outcome.type, "cancelled");
      assert.equal(cancelled.isError, true);
      const status2: any = await client.callTool({ name: "lash_process_status", arguments: { processId: longId } }, undefined, { timeout: 30_000 });
      assert.equal(structured(status2).status, "cancelled");
    });
  });
}
