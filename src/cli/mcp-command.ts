/** `lashctl mcp`: serve the endpoint's catalog as MCP tools over stdio. */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { LashProcessClient } from "../client/index.ts";
import { createLashMcpServer } from "../mcp/mcp-server.ts";
import { ExitCode, UsageError, intOption, stringOption, type Command } from "./cli-support.ts";

export const mcpCommand: Command = {
  name: "mcp",
  args: "",
  summary: "serve the catalog's tools (each call a durable process) as an MCP server over stdio",
  details: [
    "--wait-ms N         how long a tool call waits for its process before answering",
    "                    with the process id instead (default 30000)",
    "--session ID        owner session of the processes it starts (default mcp)",
    "Talks to the ingress only. Logs go to stderr; stdout carries the MCP protocol.",
  ],
  options: { "wait-ms": { type: "string" }, session: { type: "string" } },
  async run(ctx, _positionals, values) {
    if (ctx.json) throw new UsageError("mcp speaks MCP on stdout; --json does not apply", "mcp");
    const { server, idle } = createLashMcpServer({
      client: new LashProcessClient({ ingressUrl: ctx.ingress }),
      waitMs: intOption(values, "wait-ms", { min: 0, max: 3_600_000 }) ?? 30_000,
      sessionId: stringOption(values, "session") ?? "mcp",
      version: "0.1.0",
    });
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
      process.stdin.once("end", () => resolve());
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await server.connect(transport);
    ctx.io.err(`lashctl mcp: serving ${ctx.ingress} over stdio`);
    await closed;
    // Answer what was asked before stdin ended: requests read just before are in flight
    // after one turn of the event loop, and a finished call's answer is written one turn later.
    const tick = () => new Promise((r) => setImmediate(r));
    await tick();
    await idle();
    await tick();
    await server.close();
    return ExitCode.ok;
  },
};
