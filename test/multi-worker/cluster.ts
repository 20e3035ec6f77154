/**
 * A small lash cluster on one machine, for the multi-worker test and the benchmark:
 * one restate-server, N endpoint processes (`node src/main.ts`) on their own ports,
 * all on one PostgreSQL registry schema, behind HAProxy (h2c), whose URL is the one
 * deployment registered with Restate. `close()` stops everything it started, by pid.
 */
import { startEndpointProcess, type EndpointProcess } from "../support/endpoint-process.ts";
import { startHaproxy, type Haproxy } from "../support/haproxy.ts";
import type { TestSchema } from "../support/pg.ts";
import { registerDeployment, startRestateServer, type RestateServer } from "../support/restate-server.ts";

export interface Cluster {
  readonly restate: RestateServer;
  readonly endpoints: readonly EndpointProcess[];
  /** Absent with `direct: true`. */
  readonly haproxy: Haproxy | undefined;
  readonly registryUrl: string;
  readonly ingress: string;
  /** Every pid started for the cluster (server, endpoints including restarts, haproxy). */
  pids(): number[];
  close(): Promise<void>;
}

export interface ClusterOptions {
  endpoints: number;
  schema: TestSchema;
  /** Extra endpoint environment (e.g. `RESTATE_LOGGING`). */
  env?: Record<string, string>;
  /** Register the (single) endpoint itself, without HAProxy: to measure what the balancer costs. */
  direct?: boolean;
  /** Extra registry URL parameters for the endpoints, e.g. `{ pool: "4", application_name: "x" }`. */
  registryParams?: Record<string, string>;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const restate = await startRestateServer();
  const endpoints: EndpointProcess[] = [];
  let haproxy: Haproxy | undefined;
  const registryUrl = opts.schema.url(opts.registryParams);
  const stopAll = async () => {
    await haproxy?.stop();
    for (const endpoint of endpoints) await endpoint.stop();
    await restate.stop();
  };
  try {
    const env = {
      LASH_REGISTRY_URL: registryUrl,
      // The sweep would only find nothing to do here; the test is about the workers.
      LASH_RECOVER_ON_START: "0",
      // The workload is std.steps, a test tool.
      LASH_ENABLE_TEST_TOOLS: "1",
      RESTATE_ADMIN_URL: restate.adminUrl,
      RESTATE_INGRESS_URL: restate.ingressUrl,
      ...opts.env,
    };
    // Started together: they race to create and migrate the fresh schema, as real replicas would.
    endpoints.push(...(await Promise.all(Array.from({ length: opts.endpoints }, () => startEndpointProcess({ entry: "src/main.ts", env })))));
    if (opts.direct) {
      if (endpoints.length !== 1) throw new Error("direct: true needs exactly one endpoint");
      await registerDeployment(restate.adminUrl, endpoints[0]!.url);
    } else {
      haproxy = await startHaproxy({ backends: endpoints.map((e, i) => ({ name: `ep${i + 1}`, port: e.port })) });
      await registerDeployment(restate.adminUrl, haproxy.url);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const lb = haproxy;
  return {
    restate,
    endpoints,
    haproxy: lb,
    registryUrl,
    ingress: restate.ingressUrl,
    pids: () => [...restate.pids, ...endpoints.flatMap((e) => e.pids), ...(lb ? [lb.pid] : [])],
    close: stopAll,
  };
}

/** The body of `POST /LashProcesses/start` for one `std.steps` process. */
export function stepsRegistration(id: string, args: { count: number; file: string; stepMs: number }) {
  return {
    registration: {
      id,
      input: { type: "tool_call", call: { tool: "std.steps", args } },
      eventTypes: [],
      provenance: { ownerScope: { sessionId: "s" }, hostProfileId: "" },
    },
  };
}

/** Starts one process through the ingress (`LashProcesses.start`); throws with the answer on non-2xx. */
export async function startProcess(ingress: string, body: unknown): Promise<{ id: string; status: string; invocationId?: string }> {
  const res = await fetch(`${ingress}/LashProcesses/start`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`LashProcesses/start -> ${res.status}: ${text}`);
  return JSON.parse(text) as { id: string; status: string; invocationId?: string };
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in item order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * Invocation attempts an endpoint began, from its own log (`RESTATE_LOGGING=INFO`
 * makes the SDK log "Starting invocation." / "Replaying invocation." with the target):
 * workflow key -> number of attempts.
 */
export function workflowAttempts(log: string): Map<string, number> {
  const attempts = new Map<string, number>();
  for (const match of log.matchAll(/\[LashProcessWorkflow\/([^/\]]+)\/run\]\[[^\]]+\] INFO: (?:Starting|Replaying) invocation\./g)) {
    const key = match[1]!;
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
  }
  return attempts;
}
