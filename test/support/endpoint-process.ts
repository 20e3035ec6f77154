/**
 * Runs a Restate endpoint as a child Node process (the Node running the
 * tests, so Node 24), for crash tests that SIGKILL the endpoint.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isRunning, keepTestData, killHard, logTail, spawnLogged, stopGracefully } from "./child.ts";
import { freePort, waitForPort } from "./ports.ts";
import { REPO_ROOT } from "./restate-server.ts";

export interface EndpointProcess {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, the URI to register with the admin API. */
  readonly url: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** Every pid this handle has spawned. */
  readonly pids: readonly number[];
  /** File holding the process's stdout and stderr (all runs). */
  readonly logPath: string;
  /** Everything the process printed so far (still available after `stop()`). */
  output(): string;
  /** SIGKILL (a crash); waits for exit. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after a grace period; waits for exit; removes the log dir (unless LASH_KEEP_TEST_DATA=1). */
  stop(): Promise<void>;
  /** Starts again with the same port and env (stopping first if still running). */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/**
 * Spawns `node <entry>` (entry relative to the repo root) with `PORT` set and
 * waits until the port accepts TCP connections.
 */
export async function startEndpointProcess(opts: { entry: string; env?: Record<string, string>; port?: number }): Promise<EndpointProcess> {
  const port = opts.port ?? (await freePort());
  const entry = resolve(REPO_ROOT, opts.entry);
  const logDir = mkdtempSync(join(tmpdir(), "lash-endpoint-"));
  const logPath = join(logDir, "endpoint.log");
  const env = { ...process.env, ...opts.env, PORT: String(port) };
  const pids: number[] = [];
  let child: ChildProcess | undefined;
  let finalOutput: string | undefined;

  const launch = async (): Promise<void> => {
    mkdirSync(logDir, { recursive: true }); // stop() may have removed it
    finalOutput = undefined;
    const proc = spawnLogged(process.execPath, [entry], { env, logPath, cwd: REPO_ROOT });
    child = proc;
    pids.push(proc.pid!);
    try {
      await waitForPort(port, { timeoutMs: READY_TIMEOUT_MS, what: `endpoint ${opts.entry}`, isAlive: () => isRunning(proc) });
    } catch (err) {
      await killHard(proc);
      throw new Error(`${(err as Error).message}\n--- endpoint log (${logPath}) ---\n${logTail(logPath)}`, { cause: err });
    }
  };
  await launch();

  const current = (): ChildProcess => child!;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get pid() {
      return current().pid!;
    },
    pids,
    logPath,
    output: () => finalOutput ?? readFileSync(logPath, "utf8"),
    async kill() {
      await killHard(current());
    },
    async stop() {
      await stopGracefully(current(), STOP_GRACE_MS);
      if (!keepTestData() && finalOutput === undefined) {
        finalOutput = readFileSync(logPath, "utf8");
        rmSync(logDir, { recursive: true, force: true });
      }
    },
    async restart() {
      await stopGracefully(current(), STOP_GRACE_MS);
      await launch();
    },
  };
}
