/**
 * Runs `lashctl dev` as a child process on free 127.0.0.1 ports in a temp
 * directory, waits for its "is up" banner, reads the pids it reports, and stops
 * it with a signal. Used by the dev-stack and README tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { LASHCTL } from "./cli-runner.ts";
import { freePort } from "./support/ports.ts";

export interface DevPorts {
  ingress: number;
  admin: number;
  node: number;
  endpoint: number;
}

export interface DevStackProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The pids `lashctl dev` wrote to `<dir>/dev.pids` once up. */
  readonly pids: { lashctl: number; restateServer?: number; endpoint: number };
  output(): string;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freeDevPorts(): Promise<DevPorts> {
  return { ingress: await freePort(), admin: await freePort(), node: await freePort(), endpoint: await freePort() };
}

/** The env that points lashctl (dev and the other commands) at these ports. */
export function devEnv(ports: DevPorts): Record<string, string> {
  return {
    RESTATE_INGRESS_URL: `http://127.0.0.1:${ports.ingress}`,
    RESTATE_ADMIN_URL: `http://127.0.0.1:${ports.admin}`,
    LASH_DEV_NODE_PORT: String(ports.node),
    PORT: String(ports.endpoint),
    // A free port for the console, so parallel dev stacks never collide on 9091.
    LASH_DEV_CONSOLE_PORT: "0",
  };
}

export async function startDev(opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<DevStackProcess> {
  // Start from the test's env minus any RESTATE_*/LASH_* settings of the developer's shell.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RESTATE_") && !k.startsWith("LASH_")));
  const child = spawn(process.execPath, [LASHCTL, "dev"], { cwd: opts.cwd, env: { ...base, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (!out.includes("Ctrl-C stops everything")) {
    if (child.exitCode !== null) throw new Error(`lashctl dev exited (${child.exitCode}) before it was up:\n${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`lashctl dev was not up within ${opts.timeoutMs ?? 60_000} ms:\n${out}`);
    }
    await delay(50);
  }
  const dir = join(opts.cwd, opts.env.LASH_DEV_DIR ?? ".lash");
  const pids = JSON.parse(readFileSync(join(dir, "dev.pids"), "utf8")) as DevStackProcess["pids"];
  return {
    child,
    pid: child.pid!,
    pids,
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGINT") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
