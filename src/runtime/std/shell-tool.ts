import { spawn } from "node:child_process";
import { z } from "zod";
import { defineTool } from "../plugin.ts";
import { ProcessFailure } from "../process-failure.ts";

const OUTPUT_MAX_BYTES = 64 * 1024;

/**
 * Runs a command (no shell interpolation: `command` + `args`). Refused with
 * `permission_denied` unless the endpoint enables it (`LASH_ENABLE_SHELL=1`).
 * On cancel the child gets SIGKILL.
 */
export function shellTool(enabled: boolean) {
  return defineTool({
    name: "std.shell",
    description: "Runs a command; returns {exitCode, stdout, stderr}.",
    args: z.object({
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      cwd: z.string().optional(),
      timeoutMs: z
        .number()
        .int()
        .min(1)
        .max(24 * 3600 * 1000)
        .default(60_000),
    }),
    run: async (ctx) => {
      if (!enabled) throw new ProcessFailure("permission_denied", "shell_disabled", "std.shell is disabled on this endpoint (set LASH_ENABLE_SHELL=1)");
      const { command, args, cwd, timeoutMs } = ctx.args;
      return ctx.step("shell", (signal) => runCommand(command, args, cwd, timeoutMs, signal));
    },
  });
}

function runCommand(command: string, args: string[], cwd: string | undefined, timeoutMs: number, signal: AbortSignal) {
  return new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd, signal, timeout: timeoutMs, killSignal: "SIGKILL", stdio: ["ignore", "pipe", "pipe"] });
    const out = { stdout: "", stderr: "" };
    const collect = (key: "stdout" | "stderr") => (chunk: Buffer) => {
      if (out[key].length < OUTPUT_MAX_BYTES) out[key] += chunk.toString("utf8").slice(0, OUTPUT_MAX_BYTES - out[key].length);
    };
    child.stdout.on("data", collect("stdout"));
    child.stderr.on("data", collect("stderr"));
    child.on("error", (err) => reject(signal.aborted ? err : new ProcessFailure("execution", "shell_spawn_failed", err.message)));
    child.on("close", (exitCode, sig) => {
      if (sig !== null && !signal.aborted) reject(new ProcessFailure("timeout", "shell_timeout", `${command} was killed after ${timeoutMs} ms`));
      else resolve({ exitCode, ...out });
    });
  });
}
