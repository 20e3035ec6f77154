/**
 * The child processes of `lashctl dev`: restate-server from node_modules and
 * the endpoint (`node src/main.ts`). Each runs in its own process group, so a
 * terminal's Ctrl-C reaches only lashctl, which stops them in order, by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

export interface DevChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with a description of how it exited (code or signal). */
  readonly exited: Promise<string>;
}

export { restateServerBinary } from "../testing/restate-server-binary.ts";

/** Spawns a child in its own process group; its output goes to `logPath` or, line-prefixed, to `onLine`. */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; logPath?: string; onLine?: (line: string) => void },
): DevChild {
  const fd = opts.logPath === undefined ? undefined : openSync(opts.logPath, "a");
  let child: ChildProcess;
  try {
    const stdio = fd === undefined ? (["ignore", "pipe", "pipe"] as const) : (["ignore", fd, fd] as const);
    child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: [...stdio], detached: true });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  if (opts.onLine) {
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) opts.onLine!(line);
      });
    }
  }
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`)));
  return { name, process: child, pid: child.pid, exited };
}

export const isRunning = (child: DevChild): boolean => child.process.exitCode === null && child.process.signalCode === null;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: DevChild, graceMs: number): Promise<void> {
  if (!isRunning(child)) return;
  child.process.kill("SIGTERM");
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
  if ((await Promise.race([child.exited, timer])) === "timeout" && isRunning(child)) {
    child.process.kill("SIGKILL");
    await child.exited;
  }
}

/** True while a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a pid (Linux /proc), to make sure a recorded pid is still ours before touching it. */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

/** SIGTERM a pid we recorded earlier, SIGKILL after `graceMs`; waits until it is gone. */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await delay(50);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    while (pidAlive(pid)) await delay(20);
  }
}

export { answers, canConnect } from "../testing/ports.ts";

/** Polls `ready` until true; fails when `child` exits first, `timeoutMs` passes, or `signal` fires. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  opts: { child?: DevChild; timeoutMs: number; signal: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal.throwIfAborted();
    if (await ready()) return;
    if (opts.child && !isRunning(opts.child)) throw new Error(`${what}: ${opts.child.name} ${await opts.child.exited} before it was ready`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${opts.timeoutMs} ms`);
    await delay(100);
  }
}
