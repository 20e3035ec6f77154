/**
 * Child-process helpers of the tests: the ones the testing kit uses live in
 * `src/testing/child-processes.ts` (re-exported here); test-only ones below.
 */
import { spawn } from "node:child_process";

export { isRunning, killHard, logTail, pidGone, spawnLogged, stopGracefully, waitForExit } from "../../src/testing/child-processes.ts";

/** Whether test data (temp dirs, logs) should be kept for debugging. */
export function keepTestData(): boolean {
  return process.env.LASH_KEEP_TEST_DATA === "1";
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Node script to completion with piped output; SIGKILLs it if it outlives `timeoutMs`. */
export function runNode(args: string[], timeoutMs = 60_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
