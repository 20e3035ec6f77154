/**
 * `lashctl mcp`: an MCP server that exposes an endpoint's catalog as MCP tools. Each
 * call starts a durable process (`LashProcesses/start`, through the ingress only) and
 * answers with its outcome; one that outlives `waitMs` answers with its process id,
 * for `lash_process_await` / `_events` / `_cancel`.
 */
import { randomBytes } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { LashClientError, type CatalogEntry, type LashProcessClient } from "../client/index.ts";
import type { ProcessInput } from "../model/index.ts";
import { answerFor, processTools, type McpToolAnswer } from "./process-tools.ts";

export interface LashMcpOptions {
  client: LashProcessClient;
  /** How long a tool call waits for its process before answering with the id. */
  waitMs: number;
  /** Owner session of the processes it starts. */
  sessionId: string;
  version: string;
}

/** `mcp-<base36 time>-<8 hex>`: one process per tool call. */
const processIdOf = () => `mcp-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;

export interface LashMcpServer {
  server: McpServer;
  /** Resolves once no tool call is in flight (so a closed stdin still gets its answers). */
  idle: () => Promise<void>;
}

export function createLashMcpServer(opts: LashMcpOptions): LashMcpServer {
  const { client } = opts;
  let inFlight = 0;
  let wakeIdle: (() => void) | undefined;
  const server = new McpServer({ name: "lash-processes", version: opts.version }, { capabilities: { tools: {} } });
  const extras = processTools(opts.waitMs);
  let catalog: Promise<CatalogEntry[]> | undefined;
  const loadCatalog = () => {
    catalog ??= client.tools().catch((err: unknown) => {
      catalog = undefined; // try again on the next request
      throw err;
    });
    return catalog;
  };

  server.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      ...(await loadCatalog()).map((t) => ({
        name: t.name,
        description: `${t.description ?? `${t.kind} ${t.name}`} (runs as a durable lash process)`,
        inputSchema: { ...t.argsSchema, type: "object" as const },
      })),
      ...extras.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
    ],
  }));

  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    inFlight++;
    try {
      return await callTool(request.params, extra.signal);
    } finally {
      if (--inFlight === 0) wakeIdle?.();
    }
  });

  async function callTool(params: { name: string; arguments?: Record<string, unknown> | undefined }, signal: AbortSignal): Promise<CallToolResult> {
    const { name } = params;
    const args = params.arguments ?? {};
    try {
      const special = extras.find((t) => t.name === name);
      if (special !== undefined) return toResult(await special.run(client, args, signal));
      const entry = (await loadCatalog()).find((t) => t.name === name);
      if (entry === undefined) return toResult({ value: { error: { code: "unknown_tool", message: `no tool "${name}" in the catalog` } }, isError: true });
      const input: ProcessInput =
        entry.kind === "tool"
          ? { type: "tool_call", call: { tool: entry.name, args: args as never } }
          : { type: "program", name: entry.name, args: args as never };
      const handle = await client.start({
        id: processIdOf(),
        input,
        provenance: { ownerScope: { sessionId: opts.sessionId }, hostProfileId: "", causedBy: { kind: "host", id: "lashctl mcp" } },
      });
      return toResult(await answerFor(client, handle.id, opts.waitMs, signal));
    } catch (err) {
      if (err instanceof LashClientError) {
        return toResult({ value: { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } }, isError: true });
      }
      throw err;
    }
  }

  const idle = () =>
    inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wakeIdle = resolve;
        });
  return { server, idle };
}

function toResult(answer: McpToolAnswer): CallToolResult {
  const structured = typeof answer.value === "object" && answer.value !== null && !Array.isArray(answer.value);
  return {
    content: [{ type: "text", text: JSON.stringify(answer.value, null, 2) }],
    ...(structured ? { structuredContent: answer.value as Record<string, unknown> } : {}),
    ...(answer.isError ? { isError: true } : {}),
  };
}
