/**
 * One call for the usual test setup: a real restate-server, an endpoint
 * (in-process service definitions, or a child process running an entry file),
 * the endpoint registered with the admin API, and a `close()` that stops all.
 */
import { startEndpointProcess, type EndpointProcess } from "./endpoint-process.ts";
import { serveInProcess, type InProcessEndpoint } from "./in-process-endpoint.ts";
import { registerDeployment, startRestateServer, type RestateServer } from "./restate-server.ts";

export type StackEndpointSpec = Parameters<typeof serveInProcess>[0] | { entry: string; env?: Record<string, string>; port?: number };

export interface Stack<E> {
  readonly restate: RestateServer;
  readonly endpoint: E;
  /** Ingress base URL, e.g. `POST ${ingress}/MyWorkflow/key/run`. */
  readonly ingress: string;
  readonly admin: string;
  /** Every process pid started for this stack (server and endpoint, including restarts). */
  pids(): number[];
  /** Stops the endpoint, then the server (removing its temp data dir). */
  close(): Promise<void>;
}

/** `serverEnv`: extra restate-server settings (e.g. `RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT`). */
export interface StackOptions {
  serverEnv?: Record<string, string>;
}

export function startStack(services: Parameters<typeof serveInProcess>[0], opts?: StackOptions): Promise<Stack<InProcessEndpoint>>;
export function startStack(spec: { entry: string; env?: Record<string, string>; port?: number }, opts?: StackOptions): Promise<Stack<EndpointProcess>>;
export async function startStack(spec: StackEndpointSpec, opts: StackOptions = {}): Promise<Stack<InProcessEndpoint | EndpointProcess>> {
  const restate = await startRestateServer(opts.serverEnv ? { env: opts.serverEnv } : {});
  let endpoint: InProcessEndpoint | EndpointProcess | undefined;
  const stopEndpoint = async () => {
    if (!endpoint) return;
    if ("close" in endpoint) await endpoint.close();
    else await endpoint.stop();
  };
  try {
    endpoint = Array.isArray(spec) ? await serveInProcess(spec) : await startEndpointProcess(spec);
    await registerDeployment(restate.adminUrl, endpoint.url);
  } catch (err) {
    await stopEndpoint();
    await restate.stop();
    throw err;
  }
  const ep = endpoint;
  return {
    restate,
    endpoint: ep,
    ingress: restate.ingressUrl,
    admin: restate.adminUrl,
    pids: () => [...restate.pids, ...("pids" in ep ? ep.pids : [])],
    async close() {
      await stopEndpoint();
      await restate.stop();
    },
  };
}
