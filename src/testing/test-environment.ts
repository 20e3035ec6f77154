/**
 * `lash-processes/testing`: a real lash stack for a host's own tests, like
 * Temporal's TestWorkflowEnvironment without Docker. It starts restate-server
 * from the project's node_modules and the lash services with the given plugins
 * in this process, on free 127.0.0.1 ports, registers the endpoint, and hands
 * back a typed client. `killEndpoint()` / `restartEndpoint()` cut the endpoint
 * off mid-run and bring it back (replay after a crash); `teardown()` stops
 * everything it started, by pid, and removes its temp data.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LashProcessClient } from "../client/lash-process-client.ts";
import { openRegistry } from "../registry/open-registry.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import type { Plugin } from "../runtime/plugin.ts";
import { createServices, type ServicesConfig } from "../services/create-services.ts";
import { serveInProcess, type InProcessEndpoint } from "./in-process-endpoint.ts";
import { registerDeployment, startRestateServer, type RestateServer } from "./restate-server.ts";

export interface TestEnvironmentOptions {
  /** Your plugins; the `std` plugin is always there. */
  plugins?: Plugin[];
  /** The registry (`sqlite:…`, `postgres://…`); default a fresh SQLite file in a temp dir. */
  registryUrl?: string;
  /** Further service settings (host profile, shell, session-turn runner, workflow retry policy). */
  services?: Omit<ServicesConfig, "registry" | "plugins" | "restate">;
  /** Where to find `@restatedev/restate-server` (default: the working directory's project). */
  projectDir?: string;
  /** Keep the temp data (Restate's data dir, the SQLite file) after teardown, for debugging. */
  keepData?: boolean;
}

export interface TestEnvironment extends AsyncDisposable {
  /** A client of this stack's ingress. */
  readonly client: LashProcessClient;
  readonly ingressUrl: string;
  readonly adminUrl: string;
  /** The in-process endpoint's URI, as registered with Restate. */
  readonly endpointUrl: string;
  /** The registry the services write (read rows and events directly in assertions). */
  readonly registry: ProcessRegistry;
  readonly restate: RestateServer;
  /** Every pid this environment started (restate-server, including restarts). */
  pids(): number[];
  /** Cuts the endpoint off as a crash would: stops listening and drops open connections; Restate retries. */
  killEndpoint(): Promise<void>;
  /** Serves the endpoint again on the same port; Restate resumes the runs it was retrying. */
  restartEndpoint(): Promise<void>;
  /** Stops the endpoint and restate-server, closes the registry, removes temp data. Safe to call twice. */
  teardown(): Promise<void>;
}

/** Starts a test environment; always `teardown()` it (or `await using env = await createTestEnvironment(...)`). */
export async function createTestEnvironment(opts: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
  const keepData = opts.keepData ?? false;
  const dir = await mkdtemp(join(tmpdir(), "lash-testenv-"));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  cleanups.push(async () => {
    if (!keepData) await rm(dir, { recursive: true, force: true });
  });
  try {
    const restate = await startRestateServer({ keepData, ...(opts.projectDir ? { projectDir: opts.projectDir } : {}) });
    cleanups.push(() => restate.stop());
    const registry = await openRegistry(opts.registryUrl ?? `sqlite:${join(dir, "registry.db")}`);
    cleanups.push(() => registry.close());
    const services = createServices({
      ...opts.services,
      registry,
      plugins: opts.plugins ?? [],
      restate: { adminUrl: restate.adminUrl, ingressUrl: restate.ingressUrl },
    });
    let endpoint: InProcessEndpoint | undefined = await serveInProcess(services.all);
    cleanups.push(async () => {
      await endpoint?.close();
    });
    const port = endpoint.port;
    await registerDeployment(restate.adminUrl, endpoint.url);

    let done: Promise<void> | undefined;
    const teardown = () => (done ??= cleanUp());
    return {
      client: new LashProcessClient({ ingressUrl: restate.ingressUrl }),
      ingressUrl: restate.ingressUrl,
      adminUrl: restate.adminUrl,
      endpointUrl: endpoint.url,
      registry,
      restate,
      pids: () => [...restate.pids],
      async killEndpoint() {
        await endpoint?.close();
        endpoint = undefined;
      },
      async restartEndpoint() {
        await endpoint?.close();
        endpoint = await serveInProcess(services.all, { port });
      },
      teardown,
      [Symbol.asyncDispose]: teardown,
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
