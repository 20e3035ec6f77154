/**
 * Starts the REAL restate-server binary from the project's node_modules: free
 * 127.0.0.1 ports, a temp `--base-dir`, output in `<baseDir>/restate-server.log`,
 * and helpers for the admin API (register a deployment, SQL introspection).
 *
 * The platform binary is spawned directly (not the npm wrapper script), so
 * `kill()` SIGKILLs the server itself.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning, killHard, logTail, spawnLogged, stopGracefully } from "./child-processes.ts";
import { answers, freePort } from "./ports.ts";
import { restateServerBinary } from "./restate-server-binary.ts";

export interface RestateServer {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly ingressUrl: string;
  readonly adminUrl: string;
  readonly baseDir: string;
  readonly logPath: string;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  /** Every pid this handle has spawned, for "all processes are gone" checks. */
  readonly pids: readonly number[];
  /** SIGTERM, SIGKILL after a grace period; waits for exit; removes an owned temp base dir. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); waits for exit. Keeps the base dir. */
  kill(): Promise<void>;
  /** Starts again on the same ports and base dir (stopping first if still running); waits for health. */
  restart(): Promise<void>;
  /** The server's log so far. */
  output(): string;
}

export interface StartRestateServerOptions {
  /** Restate's data dir; default a fresh temp dir, removed by `stop()`. */
  baseDir?: string;
  /** Extra environment of the server (any `RESTATE_*` setting). */
  env?: Record<string, string>;
  /** Keep a temp `baseDir` after `stop()` (for debugging). Default false. */
  keepData?: boolean;
  /** Where to look for `@restatedev/restate-server` (default: the working directory's project). */
  projectDir?: string;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/**
 * Spawns restate-server and waits until admin `/health` and ingress
 * `/restate/health` answer 200. `baseDir` defaults to a fresh temp dir that
 * `stop()` removes (unless `keepData`).
 */
export async function startRestateServer(opts: StartRestateServerOptions = {}): Promise<RestateServer> {
  const keepData = opts.keepData ?? false;
  const binary = restateServerBinary(opts.projectDir);
  const ownsBaseDir = opts.baseDir === undefined;
  const baseDir = opts.baseDir ?? (await mkdtemp(join(tmpdir(), "lash-restate-")));
  await mkdir(baseDir, { recursive: true });
  const logPath = join(baseDir, "restate-server.log");
  const pids: number[] = [];

  let ports = { ingress: 0, admin: 0, fabric: 0 };
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    child = spawnLogged(binary, ["--base-dir", baseDir, "--no-logo"], {
      env: { ...serverEnv(ports), ...opts.env },
      logPath,
      cwd: baseDir,
    });
    pids.push(child.pid!);
    const proc = child;
    await waitFor(
      async () => {
        if (!isRunning(proc)) throw new Error(`restate-server exited (code ${proc.exitCode}, signal ${proc.signalCode})`);
        return (await answers(`http://127.0.0.1:${ports.admin}/health`)) && (await answers(`http://127.0.0.1:${ports.ingress}/restate/health`));
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: "restate-server health" },
    ).catch(async (err: unknown) => {
      await killHard(proc);
      throw new Error(`${(err as Error).message}\n--- restate-server log (${logPath}) ---\n${logTail(logPath)}`);
    });
  };

  // Free ports can be taken between freePort() and the server binding them: retry with new ones.
  for (let attempt = 1; ; attempt++) {
    ports = { ingress: await freePort(), admin: await freePort(), fabric: await freePort() };
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 3 || !/address already in use|Address in use|AddrInUse/i.test(String(err))) {
        if (ownsBaseDir && !keepData) await rm(baseDir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const current = (): ChildProcess => child!;
  return {
    ingressUrl: `http://127.0.0.1:${ports.ingress}`,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    baseDir,
    logPath,
    get pid() {
      return current().pid!;
    },
    pids,
    async stop() {
      await stopGracefully(current(), STOP_GRACE_MS);
      if (ownsBaseDir && !keepData) await rm(baseDir, { recursive: true, force: true });
    },
    async kill() {
      await killHard(current());
    },
    async restart() {
      await stopGracefully(current(), STOP_GRACE_MS);
      await launch();
    },
    output: () => logTail(logPath, Number.MAX_SAFE_INTEGER),
  };
}

/** Environment of the server: our ports, no telemetry, plain (non-ANSI) logs. */
function serverEnv(ports: { ingress: number; admin: number; fabric: number }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Keep PATH/HOME etc. but no RESTATE_* settings leaking in from the developer's shell.
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("RESTATE_")) env[key] = value;
  return {
    ...env,
    RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ports.ingress}`,
    RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${ports.admin}`,
    RESTATE_BIND_ADDRESS: `127.0.0.1:${ports.fabric}`,
    RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${ports.fabric}`,
    RESTATE_DISABLE_TELEMETRY: "true", // the daily usage ping (scarf)
    RESTATE_LOG_DISABLE_ANSI_CODES: "true",
    SCARF_ANALYTICS: "false",
    DO_NOT_TRACK: "1",
  };
}

/**
 * Polls `predicate` every `intervalMs` until it returns a truthy value (which is
 * returned) or `timeoutMs` passes. Errors thrown by the predicate fail at once.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what: string }): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await predicate();
    if (last) return last;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what} (last value: ${JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/**
 * Registers (or re-registers, `force: true`) a deployment at `uri` with the
 * admin API. Returns the admin's JSON answer; throws with the body on non-2xx.
 */
export async function registerDeployment(adminUrl: string, uri: string): Promise<unknown> {
  const res = await fetch(`${adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri, force: true }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`POST ${adminUrl}/deployments {uri: ${uri}} -> ${res.status}: ${body}`);
  return JSON.parse(body) as unknown;
}

/**
 * Runs a SQL introspection query (`POST /query`, e.g. over `sys_invocation`)
 * and returns its rows. With `Accept: application/json` the admin answers
 * `{"rows": [{column: value, ...}]}` (without it: Arrow IPC). NULL columns are
 * left out of a row entirely, so read optional columns as possibly undefined.
 * A bad query is a 500 `{"message": "Datafusion error: ..."}`.
 */
export async function adminQuery<T = Record<string, unknown>>(adminUrl: string, sql: string): Promise<T[]> {
  const res = await fetch(`${adminUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: sql }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`admin query failed (${res.status}): ${body}\nquery: ${sql}`);
  return (JSON.parse(body) as { rows: T[] }).rows;
}
