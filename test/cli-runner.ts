/**
 * Runs lashctl as a child process (the Node running the tests, so Node 24) and
 * collects its exit code and output. Used by the CLI, README and dev-stack tests.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./support/restate-server.ts";

export const LASHCTL = join(REPO_ROOT, "src", "cli", "bin.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function lashctl(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LASHCTL, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`lashctl ${args.join(" ")} did not finish within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
