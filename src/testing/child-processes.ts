/**
 * Small helpers around child processes shared by the restate-server launcher
 * and the project's own endpoint harnesses: spawn with output appended to a log file, wait for exit,
 * stop (SIGTERM then SIGKILL), and a last-resort SIGKILL of every child still
 * alive when the test process exits, so a failing test never leaks a server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Spawns `command args` with stdout and stderr appended to `logPath` (the file
 * is shared across restarts, so the log shows every run) and no stdin.
 */
export function spawnLogged(command: string, args: string[], opts: { env: NodeJS.ProcessEnv; logPath: string; cwd?: string }): ChildProcess {
  const fd = openSync(opts.logPath, "a");
  try {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ["ignore", fd, fd] });
    if (child.pid === undefined) throw new Error(`failed to spawn ${command}`);
    live.add(child);
    child.once("exit", () => live.delete(child));
    return child;
  } finally {
    closeSync(fd); // the child holds its own copy of the descriptor
  }
}

/** True until the child has exited (or was killed by a signal). */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves once the child has exited; rejects after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve();
    };
    child.once("exit", onExit);
  });
}

/** SIGKILL and wait until the process is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (isRunning(child)) child.kill("SIGKILL");
  await waitForExit(child);
}

/** SIGTERM, then SIGKILL if it is still running after `graceMs`; waits for exit. */
export async function stopGracefully(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!isRunning(child)) return;
  child.kill("SIGTERM");
  try {
    await waitForExit(child, graceMs);
  } catch {
    await killHard(child);
  }
}

/** True when no process with this pid exists any more (`kill(pid, 0)` throws ESRCH). */
export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** The last `maxBytes` of a log file, or "" if it does not exist. */
export function logTail(logPath: string, maxBytes = 4_000): string {
  try {
    const text = readFileSync(logPath, "utf8");
    return text.length > maxBytes ? `…${text.slice(-maxBytes)}` : text;
  } catch {
    return "";
  }
}
