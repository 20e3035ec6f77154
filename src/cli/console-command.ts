/** `lashctl console`: the web console (src/console/) until Ctrl-C. */
import { startConsole } from "../console/console-server.ts";
import { ExitCode, UsageError, intOption, stringOption, type Command } from "./cli-support.ts";

export const consoleCommand: Command = {
  name: "console",
  args: "",
  summary: "serve the web console (processes, live events, cancel/signal/complete) until Ctrl-C",
  details: [
    "--port N            port (default 9091; 0 picks a free one)",
    "--host H            address to bind (default 127.0.0.1); a non-loopback one requires --token",
    "--token T           required on every request: open <url>?token=T once (a cookie keeps it)",
    "                    or send Authorization: Bearer T (env LASH_CONSOLE_TOKEN)",
  ],
  options: { port: { type: "string" }, host: { type: "string" }, token: { type: "string" } },
  async run(ctx, _positionals, values) {
    const token = stringOption(values, "token") ?? ctx.env.LASH_CONSOLE_TOKEN;
    if (token !== undefined && token.length < 8) throw new UsageError("--token must be at least 8 characters", "console");
    const host = stringOption(values, "host") ?? "127.0.0.1";
    const port = intOption(values, "port", { min: 0, max: 65535 }) ?? 9091;
    let server;
    try {
      server = await startConsole({
        ingressUrl: ctx.ingress,
        adminUrl: ctx.admin,
        host,
        port,
        ...(token ? { token } : {}),
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "invalid_input") throw new UsageError((err as Error).message, "console");
      if (code === "EADDRINUSE") throw new UsageError(`port ${port} is taken; pick another with --port`, "console");
      throw err;
    }
    ctx.io.out(`lash console at ${server.url}${token ? " (open it once with ?token=<token>)" : ""}`);
    ctx.io.out(`  ingress ${ctx.ingress}, admin ${ctx.admin}; Ctrl-C stops it`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await server.close();
    ctx.io.out("console stopped");
    return ExitCode.ok;
  },
};
