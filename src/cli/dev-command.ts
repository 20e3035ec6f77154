/**
 * `lashctl dev` (= `npm start`): a whole local stack in one command. Uses the
 * Restate server at the admin URL if one answers, else starts restate-server
 * from node_modules with `restate.toml`; starts the endpoint, registers it,
 * runs one recovery sweep, and stays up until Ctrl-C / SIGTERM, then stops
 * everything it started (by pid, waiting for each to exit).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LashProcessClient } from "../client/index.ts";
import { DEFAULT_RESTATE_URLS } from "../model/index.ts";
import { startConsole, type ConsoleServer } from "../console/console-server.ts";
import { jsonLine } from "../observability/json-log.ts";
import { registerDeployment } from "./admin-commands.ts";
import { ExitCode, UsageError, type CliContext, type Command } from "./cli-support.ts";
import {
  answers,
  canConnect,
  commandLineOf,
  isRunning,
  pidAlive,
  restateServerBinary,
  spawnChild,
  stopChild,
  stopPid,
  waitUntil,
  type DevChild,
} from "./dev-children.ts";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The endpoint `lashctl dev` runs by default: this package's `main` (`.ts` in the repo, built `.js` when installed). */
const DEFAULT_ENTRY = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "../main.ts" : "../main.js", import.meta.url));

/** The project's own `restate.toml` if it has one, else the one this package ships. */
function restateConfigFile(): string {
  const own = resolve("restate.toml");
  return existsSync(own) ? own : join(PACKAGE_ROOT, "restate.toml");
}
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export interface DevPlan {
  /** Absolute data directory: `restate/`, `registry.db`, logs, `dev.pids`. */
  dir: string;
  ingress: string;
  admin: string;
  ingressPort: number;
  adminPort: number;
  nodePort: number;
  endpointPort: number;
  endpointUri: string;
  registryUrl: string;
  registryName: string;
  entry: string;
}

interface PidFile {
  lashctl: number;
  restateServer?: number;
  endpoint: number;
}

function portOf(url: string, what: string): number {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${what} is not a URL (got ${JSON.stringify(url)})`, "dev");
  }
  return Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80));
}

function envPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${name} must be a port 1..65535 (got ${JSON.stringify(raw)})`, "dev");
  return n;
}

export function devPlan(ctx: CliContext): DevPlan {
  const env = ctx.env;
  const dir = resolve(env.LASH_DEV_DIR ?? ".lash");
  const endpointPort = envPort(env, "PORT", 9080);
  return {
    dir,
    ingress: ctx.ingress.replace(/\/+$/, ""),
    admin: ctx.admin.replace(/\/+$/, ""),
    ingressPort: portOf(ctx.ingress, "the ingress URL"),
    adminPort: portOf(ctx.admin, "the admin URL"),
    nodePort: envPort(env, "LASH_DEV_NODE_PORT", 5122),
    endpointPort,
    endpointUri: env.LASH_DEV_ENDPOINT_URI ?? `http://127.0.0.1:${endpointPort}`,
    registryUrl: env.LASH_REGISTRY_URL ?? `sqlite:${join(dir, "registry.db")}`,
    registryName: env.LASH_REGISTRY_NAME ?? "default",
    entry: resolve(env.LASH_DEV_ENTRY ?? DEFAULT_ENTRY),
  };
}

/** Stops what an earlier `lashctl dev` in this directory left running (it was killed, not stopped). */
async function cleanUpEarlierRun(plan: DevPlan, say: (t: string) => void): Promise<void> {
  const pidPath = join(plan.dir, "dev.pids");
  let earlier: PidFile;
  try {
    earlier = JSON.parse(readFileSync(pidPath, "utf8")) as PidFile;
  } catch {
    return;
  }
  if (earlier.lashctl !== process.pid && pidAlive(earlier.lashctl) && (commandLineOf(earlier.lashctl) ?? "lashctl").includes("lashctl")) {
    throw new Error(`another lashctl dev (pid ${earlier.lashctl}) is running with data dir ${plan.dir}; stop it first`);
  }
  const leftovers: [string, number | undefined, string][] = [
    ["endpoint", earlier.endpoint, plan.entry],
    ["restate-server", earlier.restateServer, "restate-server"],
  ];
  for (const [name, pid, marker] of leftovers) {
    if (pid === undefined || !pidAlive(pid) || !(commandLineOf(pid) ?? "").includes(marker)) continue;
    say(`stopping the ${name} (pid ${pid}) left by an earlier lashctl dev`);
    await stopPid(pid, 10_000);
  }
  rmSync(pidPath, { force: true });
}

async function startRestate(plan: DevPlan, ctx: CliContext, say: (t: string) => void): Promise<DevChild | undefined> {
  if (await answers(`${plan.admin}/health`)) {
    say(`using the Restate server that answers at ${plan.admin}`);
    return undefined;
  }
  const host = new URL(plan.admin).hostname;
  if (!LOCAL_HOSTS.has(host) || !LOCAL_HOSTS.has(new URL(plan.ingress).hostname)) {
    throw new Error(
      `no Restate server answers at ${plan.admin}, and dev starts one only on 127.0.0.1 (set RESTATE_ADMIN_URL / RESTATE_INGRESS_URL to local URLs)`,
    );
  }
  const logPath = join(plan.dir, "restate-server.log");
  const child = spawnChild("restate-server", restateServerBinary(), ["--config-file", restateConfigFile(), "--no-logo"], {
    cwd: process.cwd(),
    logPath,
    env: {
      ...ctx.env,
      RESTATE_BASE_DIR: join(plan.dir, "restate"),
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${plan.ingressPort}`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${plan.adminPort}`,
      RESTATE_BIND_ADDRESS: `127.0.0.1:${plan.nodePort}`,
      RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${plan.nodePort}`,
      RESTATE_LOG_DISABLE_ANSI_CODES: "true",
    },
  });
  say(`started restate-server (pid ${child.pid}, log ${logPath})`);
  await waitUntil("restate-server", async () => (await answers(`${plan.admin}/health`)) && (await answers(`${plan.ingress}/restate/health`)), {
    child,
    timeoutMs: 60_000,
    signal: ctx.signal,
  });
  return child;
}

function startEndpoint(plan: DevPlan, ctx: CliContext): DevChild {
  const json = ctx.env.LASH_LOG_FORMAT === "json";
  return spawnChild("endpoint", process.execPath, [plan.entry], {
    cwd: process.cwd(),
    // With JSON logs, the endpoint's lines are already JSON objects: passed on as they are.
    onLine: (line) => ctx.io.err(!json ? `endpoint | ${line}` : line.startsWith("{") ? line : jsonLine("info", line, { source: "endpoint" })),
    env: {
      // One line per invocation at INFO is noise in a terminal; RESTATE_LOGGING=INFO brings it back.
      RESTATE_LOGGING: "WARN",
      // A dev stack is for trying things: std.steps (a test tool that writes files) is on.
      LASH_ENABLE_TEST_TOOLS: "1",
      ...ctx.env,
      PORT: String(plan.endpointPort),
      // The dev endpoint is for this machine only, unless the caller says otherwise.
      LASH_BIND_HOST: ctx.env.LASH_BIND_HOST ?? "127.0.0.1",
      LASH_REGISTRY_URL: plan.registryUrl,
      LASH_REGISTRY_NAME: plan.registryName,
      RESTATE_ADMIN_URL: plan.admin,
      RESTATE_INGRESS_URL: plan.ingress,
      // dev runs the start-up sweep itself, once the endpoint is registered.
      LASH_RECOVER_ON_START: "0",
    },
  });
}

/**
 * The console beside the stack: `LASH_DEV_CONSOLE_PORT` (default 9091; `0` a free port;
 * `off` none). A taken default port falls back to a free one.
 */
async function startDevConsole(plan: DevPlan, ctx: CliContext, say: (t: string) => void): Promise<ConsoleServer | undefined> {
  const raw = ctx.env.LASH_DEV_CONSOLE_PORT ?? "9091";
  if (raw === "off") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`LASH_DEV_CONSOLE_PORT must be a port 0..65535 or off (got ${JSON.stringify(raw)})`, "dev");
  const open = (p: number) => startConsole({ ingressUrl: plan.ingress, adminUrl: plan.admin, port: p });
  try {
    return await open(port);
  } catch (err) {
    if ((err as { code?: string }).code !== "EADDRINUSE" || ctx.env.LASH_DEV_CONSOLE_PORT !== undefined) throw err;
    say(`port ${port} is taken; the console takes a free port`);
    return open(0);
  }
}

function banner(plan: DevPlan, pids: PidFile, report: string, consoleUrl: string | undefined): string[] {
  const env = plan.ingress === DEFAULT_RESTATE_URLS.ingress ? "" : `RESTATE_INGRESS_URL=${plan.ingress} `;
  const pidText = [`lashctl ${pids.lashctl}`, ...(pids.restateServer ? [`restate-server ${pids.restateServer}`] : []), `endpoint ${pids.endpoint}`].join(", ");
  return [
    "lash dev stack is up",
    `  ingress     ${plan.ingress}`,
    `  admin       ${plan.admin}`,
    `  Restate UI  ${plan.admin}/ui`,
    ...(consoleUrl ? [`  console     ${consoleUrl}`] : []),
    `  endpoint    ${plan.endpointUri} (registry ${plan.registryUrl})`,
    `  data        ${plan.dir}`,
    `  pids        ${pidText} (also in ${join(plan.dir, "dev.pids")})`,
    `  recovery    ${report}`,
    `Try: ${env}npx lashctl start std.echo --args '{"value":"hello"}' --wait`,
    "Ctrl-C stops everything started here.",
  ];
}

export const devCommand: Command = {
  name: "dev",
  args: "",
  summary: "run Restate (unless one answers), the endpoint, register it and sweep; Ctrl-C stops all",
  details: [
    "env LASH_DEV_DIR          data dir (default ./.lash): restate/, registry.db, logs, dev.pids",
    `env RESTATE_INGRESS_URL   ingress (default ${DEFAULT_RESTATE_URLS.ingress}); a started server binds its port`,
    `env RESTATE_ADMIN_URL     admin API (default ${DEFAULT_RESTATE_URLS.admin}); a started server binds its port`,
    "env LASH_DEV_NODE_PORT    restate-server's node port (default 5122)",
    "env PORT                  the endpoint's port (default 9080)",
    "env LASH_DEV_ENDPOINT_URI the URI Restate calls the endpoint at (default http://127.0.0.1:$PORT)",
    "env LASH_DEV_ENTRY        endpoint entry file (default: this package's main), e.g. one with your plugins",
    "env LASH_REGISTRY_URL     registry (default sqlite:$LASH_DEV_DIR/registry.db)",
    "env RESTATE_LOGGING       the endpoint's log level (default WARN)",
    "env LASH_DEV_CONSOLE_PORT the web console's port (default 9091; 0: a free one; off: none)",
    "env LASH_LOG_FORMAT       json: every line (dev's and the endpoint's) one JSON object",
  ],
  options: {},
  async run(ctx) {
    const plan = devPlan(ctx);
    const say = ctx.env.LASH_LOG_FORMAT === "json" ? (t: string) => ctx.io.out(jsonLine("info", t)) : (t: string) => ctx.io.out(t);
    mkdirSync(plan.dir, { recursive: true });
    await cleanUpEarlierRun(plan, say);
    const started: DevChild[] = [];
    let web: ConsoleServer | undefined;
    const stopAll = async () => {
      await web?.close();
      // The endpoint first (it calls Restate), then the server; each waited for.
      for (const child of [...started].reverse()) await stopChild(child, child.name === "restate-server" ? 30_000 : 10_000);
      rmSync(join(plan.dir, "dev.pids"), { force: true });
    };
    let report: string;
    let pids: PidFile;
    try {
      const restate = await startRestate(plan, ctx, say);
      if (restate) started.push(restate);
      if (await canConnect("127.0.0.1", plan.endpointPort)) throw new Error(`port ${plan.endpointPort} is taken; set PORT to a free port for the endpoint`);
      const endpoint = startEndpoint(plan, ctx);
      started.push(endpoint);
      pids = { lashctl: process.pid, ...(restate ? { restateServer: restate.pid } : {}), endpoint: endpoint.pid };
      writeFileSync(join(plan.dir, "dev.pids"), `${JSON.stringify(pids)}\n`);
      await waitUntil("endpoint", () => canConnect("127.0.0.1", plan.endpointPort), { child: endpoint, timeoutMs: 30_000, signal: ctx.signal });
      const deployment = await registerDeployment(plan.admin, plan.endpointUri, ctx.signal);
      say(`registered ${plan.endpointUri} (${deployment.id ?? "?"})`);
      const sweep = await new LashProcessClient({ ingressUrl: plan.ingress }).recovery(plan.registryName).sweep();
      web = await startDevConsole(plan, ctx, say);
      report = `scanned ${sweep.scanned}, submitted ${sweep.submitted}, already active ${sweep.alreadyActive}, reconciled ${sweep.reconciled}, resumed ${sweep.resumed}, failed ${sweep.failed.length}`;
    } catch (err) {
      await stopAll();
      throw err;
    }
    for (const line of banner(plan, pids, report, web?.url)) say(line);

    // Up until a signal, or until a child dies on its own.
    const aborted = new Promise<string>((r) => {
      if (ctx.signal.aborted) r("signal");
      ctx.signal.addEventListener("abort", () => r("signal"), { once: true });
    });
    const crashed = started.map((c) => c.exited.then((how) => `${c.name} (pid ${c.pid}) ${how}`));
    const why = await Promise.race([aborted, ...crashed]);
    if (why !== "signal") say(`${why}; stopping the dev stack`);
    else say("stopping the dev stack");
    await stopAll();
    say(`stopped ${started.map((c) => `${c.name} (pid ${c.pid})`).join(", ")}`);
    return why === "signal" && !started.some((c) => isRunning(c)) ? ExitCode.ok : ExitCode.failed;
  },
};
