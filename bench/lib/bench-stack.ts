/**
 * One benchmark stack: a real restate-server from node_modules (free 127.0.0.1
 * ports, temp base dir), and as separate child processes the lash endpoint (SQLite
 * registry in a temp dir, no start-up sweep) and/or the bare endpoint, both
 * registered. `close()` stops every process it started, by pid.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEndpointProcess, type EndpointProcess } from "../../test/support/endpoint-process.ts";
import { registerDeployment, startRestateServer, type RestateServer } from "../../test/support/restate-server.ts";
import { endpointEntry } from "./build-endpoints.ts";
import { onCleanup } from "./cleanup.ts";

export interface BenchStackOptions {
  lash?: boolean;
  bare?: boolean;
  /** Extra env for the lash endpoint child (e.g. NODE_OPTIONS=--cpu-prof …). */
  lashEnv?: Record<string, string>;
  bareEnv?: Record<string, string>;
  /** Create the registry (e.g. pre-written rows) before the lash endpoint starts. */
  beforeLash?: (registryPath: string) => Promise<void>;
  /** Register the endpoints with Restate (default true). */
  register?: boolean;
  /** Enable SIGUSR2 measurement windows in both endpoints (files in `controlDir`). */
  controlDir?: boolean;
  /** Run both endpoints from their TypeScript source (Node's type stripping) instead of compiled JS (build-endpoints.ts). */
  fromSource?: boolean;
}

export interface BenchStack {
  readonly restate: RestateServer;
  readonly lash: EndpointProcess | undefined;
  readonly bare: EndpointProcess | undefined;
  readonly ingress: string;
  readonly admin: string;
  readonly dir: string;
  readonly registryPath: string;
  /** Where the endpoints write profiles and counters (when `controlDir` was asked for). */
  readonly controlDir: string | undefined;
  close(): Promise<void>;
}

/** SDK logging at WARN for both endpoints: per-invocation INFO lines are not what we measure. */
const ENDPOINT_ENV = { RESTATE_LOGGING: "WARN" };

export async function startBenchStack(opts: BenchStackOptions): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), "lash-bench-"));
  const registryPath = join(dir, "registry.db");
  const controlDir = opts.controlDir ? join(dir, "control") : undefined;
  const control: Record<string, string> = controlDir ? { LASH_BENCH_CONTROL_DIR: controlDir } : {};
  const removeDir = onCleanup(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const restate = await startRestateServer();
  const stopRestate = onCleanup(`restate-server pid ${restate.pid}`, () => restate.stop());
  const started: { ep: EndpointProcess; unregister: () => void }[] = [];
  const stopEndpoint = async (ep: EndpointProcess) => ep.stop();
  const launch = async (entry: string, env: Record<string, string>) => {
    const ep = await startEndpointProcess({ entry, env: { ...ENDPOINT_ENV, ...env } });
    started.push({ ep, unregister: onCleanup(`endpoint ${entry} pid ${ep.pid}`, () => stopEndpoint(ep)) });
    return ep;
  };
  try {
    let lash: EndpointProcess | undefined;
    let bare: EndpointProcess | undefined;
    if (opts.lash) {
      if (opts.beforeLash) await opts.beforeLash(registryPath);
      lash = await launch(await endpointEntry("bench/lash-endpoint", opts.fromSource), {
        LASH_REGISTRY_URL: `sqlite:${registryPath}`,
        LASH_RECOVER_ON_START: "0",
        RESTATE_ADMIN_URL: restate.adminUrl,
        RESTATE_INGRESS_URL: restate.ingressUrl,
        ...control,
        ...opts.lashEnv,
      });
    }
    if (opts.bare) bare = await launch(await endpointEntry("bench/bare-endpoint", opts.fromSource), { ...control, ...opts.bareEnv });
    if (opts.register !== false) {
      for (const ep of [lash, bare]) if (ep) await registerDeployment(restate.adminUrl, ep.url);
    }
    return {
      restate,
      lash,
      bare,
      ingress: restate.ingressUrl,
      admin: restate.adminUrl,
      dir,
      registryPath,
      controlDir,
      async close() {
        for (const { ep, unregister } of started.reverse()) {
          unregister();
          await stopEndpoint(ep);
        }
        stopRestate();
        await restate.stop();
        removeDir();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const { ep, unregister } of started.reverse()) {
      unregister();
      await stopEndpoint(ep).catch(() => {});
    }
    stopRestate();
    await restate.stop();
    throw err;
  }
}
