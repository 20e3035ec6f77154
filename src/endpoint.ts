import { setTimeout as delay } from "node:timers/promises";
import { once } from "node:events";
import { createServer, type Http2Server } from "node:http2";
import * as restate from "@restatedev/restate-sdk";
import { modelConfigOf, type EnvConfig } from "./config.ts";
import { createLog, restateJsonLogger } from "./observability/json-log.ts";
import { setUpObservability, type Observability } from "./observability/setup.ts";
import { openRegistry } from "./registry/open-registry.ts";
import type { ProcessRegistry } from "./registry/port.ts";
import type { LashObserver } from "./runtime/observer.ts";
import type { Plugin } from "./runtime/plugin.ts";
import { createServices } from "./services/create-services.ts";
import { DEFAULT_RETRY_POLICY } from "./runtime/restate-handlers.ts";
import { openSessionStore } from "./sessions/open-session-store.ts";
import type { SessionStore } from "./sessions/session-store.ts";

export interface LashEndpoint {
  /** The request handler (HTTP/2 or HTTP/1.1 `createServer(handler)`), from the SDK's `createEndpointHandler`. */
  handler: ReturnType<typeof restate.createEndpointHandler>;
  registry: ProcessRegistry;
  /** Serves `handler` over HTTP/2 (what Restate speaks) on `port` (`host`: default all interfaces); resolves once listening. */
  listen: (port: number, host?: string) => Promise<Http2Server>;
  /** Metrics server and tracer from LASH_METRICS_PORT / OTEL_* (absent when an observer was passed in); close it on shutdown. */
  observability?: Observability;
  /** Session conversations, in the registry's database. */
  sessions: SessionStore;
}

/**
 * Builds the endpoint (all lash services bound) from the env configuration,
 * including metrics (`LASH_METRICS_PORT`) and traces (`OTEL_*`) unless `opts.observer`
 * brings the host's own, and the built-in session-turn runner when `LASH_MODEL_BASE_URL` is set.
 */
export async function createLashEndpoint(config: EnvConfig, plugins: Plugin[] = [], opts: { observer?: LashObserver } = {}): Promise<LashEndpoint> {
  const model = modelConfigOf(config);
  const observability = opts.observer
    ? undefined
    : await setUpObservability(
        config,
        createLog(config.LASH_LOG_FORMAT, (line) => console.info(line)),
      );
  const observer = opts.observer ?? observability?.observer;
  const registry = await openRegistry(config.LASH_REGISTRY_URL);
  const sessions = await openSessionStore(config.LASH_REGISTRY_URL);
  const services = createServices({
    registry,
    sessions,
    ...(model ? { model } : {}),
    plugins,
    hostProfileId: config.LASH_HOST_PROFILE,
    durability: config.LASH_DURABILITY,
    ...(config.LASH_WAKE_TARGET ? { wakeTarget: config.LASH_WAKE_TARGET } : {}),
    enableShell: config.LASH_ENABLE_SHELL,
    ...(config.LASH_MAX_CONCURRENT ? { limits: config.LASH_MAX_CONCURRENT } : {}),
    ...(config.LASH_RETENTION === undefined ? {} : { retentionMs: config.LASH_RETENTION }),
    enableTestTools: config.LASH_ENABLE_TEST_TOOLS,
    caps: { eventsPerProcess: config.LASH_MAX_EVENTS_PER_PROCESS, processesPerSession: config.LASH_MAX_PROCESSES_PER_SESSION },
    httpAllow: config.LASH_HTTP_ALLOW,
    ...(observer ? { observer } : {}),
    restate: { adminUrl: config.RESTATE_ADMIN_URL, ingressUrl: config.RESTATE_INGRESS_URL },
    workflow: {
      retryPolicy: { ...DEFAULT_RETRY_POLICY, ...(config.LASH_RETRY_MAX_ATTEMPTS ? { maxAttempts: config.LASH_RETRY_MAX_ATTEMPTS } : {}) },
    },
  });
  const handler = restate.createEndpointHandler({
    services: services.all,
    ...(config.LASH_LOG_FORMAT === "json" ? { logger: restateJsonLogger(process.env.RESTATE_LOGGING) } : {}),
    ...(config.RESTATE_IDENTITY_KEYS?.length ? { identityKeys: config.RESTATE_IDENTITY_KEYS } : {}),
  });
  return {
    handler,
    registry,
    sessions,
    ...(observability ? { observability } : {}),
    async listen(port, host) {
      const server = createServer(handler);
      server.listen(port, host);
      await once(server, "listening");
      return server;
    },
  };
}

/**
 * Asks Restate for one recovery sweep once this endpoint is registered (the
 * ingress answers 404 for an unknown service until then). Gives up quietly
 * after `timeoutMs`: the next start or a scheduled sweep covers it.
 */
export async function requestStartupSweep(config: EnvConfig, timeoutMs = 60_000, log: Pick<Console, "info" | "warn"> = console): Promise<boolean> {
  const url = `${config.RESTATE_INGRESS_URL}/LashProcessRecovery/${config.LASH_REGISTRY_NAME}/sweep/send`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      if (res.ok) {
        log.info(`lash: start-up recovery sweep requested (${((await res.json()) as { invocationId?: string }).invocationId ?? "sent"})`);
        return true;
      }
    } catch {
      // Restate not up yet.
    }
    await delay(500, undefined, { ref: false });
  }
  log.warn("lash: could not request the start-up recovery sweep (is the endpoint registered with Restate?)");
  return false;
}
