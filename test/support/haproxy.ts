/**
 * A real HAProxy (Debian's `haproxy` package) in front of several endpoints, as a
 * child process: a generated config in a temp dir, `haproxy -f <cfg> -db` (foreground),
 * a free 127.0.0.1 port, stopped by pid.
 *
 * Restate talks HTTP/2 cleartext (h2c, prior knowledge) to endpoints, so the frontend
 * bind AND every server line say `proto h2` (HAProxy 2.x: "it is possible to force
 * the http/2 on clear TCP by specifying proto h2"). Each HTTP/2 stream is one request
 * to HAProxy, so each Restate invocation attempt is balanced on its own.
 */
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning, keepTestData, killHard, logTail, spawnLogged, stopGracefully } from "./child.ts";
import { freePort, waitForPort } from "./ports.ts";

export interface HaproxyBackend {
  /** Server name in the config and in HAProxy's log lines. */
  name: string;
  port: number;
}

export interface Haproxy {
  readonly port: number;
  /** `http://127.0.0.1:PORT`: the deployment URI to register with Restate. */
  readonly url: string;
  readonly pid: number;
  readonly configPath: string;
  /** HAProxy's own log (one line per request, naming the server that served it). */
  output(): string;
  /** SIGTERM (HAProxy's immediate stop), SIGKILL after a grace period; removes the temp dir. */
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  backends: HaproxyBackend[];
  /** Health-check interval: how soon a dead backend is taken out of rotation (default 500 ms). */
  checkIntervalMs?: number;
}

/** The config: h2c in, h2c out, round robin, fast health checks, connection failures retried on another server. */
export function haproxyConfig(port: number, opts: HaproxyOptions): string {
  const inter = opts.checkIntervalMs ?? 500;
  return [
    "global",
    "    log stderr format raw local0 info",
    "    maxconn 4096",
    "",
    "defaults",
    "    mode http",
    "    log global",
    "    option httplog",
    "    timeout connect 2s",
    // Restate holds one stream open per invocation attempt for as long as the handler
    // runs, and reuses idle connections: keep both well above its inactivity timeout.
    "    timeout client 10m",
    "    timeout server 10m",
    "    timeout http-keep-alive 10m",
    // A refused connection (a backend that just died) is retried, on another server.
    "    retries 3",
    "    option redispatch 1",
    "",
    "frontend restate_in",
    `    bind 127.0.0.1:${port} proto h2`,
    "    default_backend lash_endpoints",
    "",
    "backend lash_endpoints",
    "    balance roundrobin",
    ...opts.backends.map((b) => `    server ${b.name} 127.0.0.1:${b.port} proto h2 check inter ${inter} fall 1 rise 2`),
    "",
  ].join("\n");
}

/**
 * Path of the haproxy executable, or an error saying how to install it. Looked up
 * on PATH, then in the sbin directories (Debian installs it in /usr/sbin, often not on
 * a user's PATH). `LASH_TEST_HAPROXY` overrides the lookup with one exact program
 * (a path that does not exist simulates a machine without HAProxy).
 */
export function haproxyBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.LASH_TEST_HAPROXY;
  const candidates = override !== undefined && override !== "" ? [override] : ["haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy"];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["-v"], { encoding: "utf8", timeout: 10_000 });
    if (probe.status === 0) return candidate;
  }
  throw new Error("haproxy not found: the multi-worker tests need it (Debian/Ubuntu: apt-get install -y haproxy; .ci/run installs it)");
}

export async function startHaproxy(opts: HaproxyOptions): Promise<Haproxy> {
  const binary = haproxyBinary();
  const dir = mkdtempSync(join(tmpdir(), "lash-haproxy-"));
  const configPath = join(dir, "haproxy.cfg");
  const logPath = join(dir, "haproxy.log");
  let child: ChildProcess | undefined;
  let port: number;
  // A free port can be taken between freePort() and HAProxy binding it: retry with another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    writeFileSync(configPath, haproxyConfig(port, opts));
    const proc = spawnLogged(binary, ["-f", configPath, "-db"], { env: process.env, logPath, cwd: dir });
    try {
      await waitForPort(port, { timeoutMs: 10_000, what: "haproxy", isAlive: () => isRunning(proc) });
      child = proc;
      break;
    } catch (err) {
      await killHard(proc);
      const log = logTail(logPath);
      if (attempt >= 3 || !/Address already in use|cannot bind/i.test(log)) {
        if (!keepTestData()) rmSync(dir, { recursive: true, force: true });
        throw new Error(`${(err as Error).message}\n--- haproxy log (${logPath}) ---\n${log}`, { cause: err });
      }
    }
  }
  const proc = child;
  let finalOutput: string | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid!,
    configPath,
    output: () => finalOutput ?? readFileSync(logPath, "utf8"),
    async stop() {
      await stopGracefully(proc, 5_000);
      if (finalOutput === undefined) finalOutput = logTail(logPath, Number.MAX_SAFE_INTEGER);
      if (!keepTestData()) rmSync(dir, { recursive: true, force: true });
    },
  };
}
