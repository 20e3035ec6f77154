import * as restate from "@restatedev/restate-sdk";
import { modelConfigOf, type EnvConfig } from "./config.ts";
import { openRegistry } from "./registry/open-registry.ts";
import type { ProcessRegistry } from "./registry/port.ts";
import type { Plugin } from "./runtime/plugin.ts";
import { createServices } from "./services/create-services.ts";
import { openSessionStore } from "./sessions/open-session-store.ts";
import type { SessionStore } from "./sessions/session-store.ts";
import { DEFAULT_RETRY_POLICY } from "./workflows/process-workflow.ts";

export interface LashEndpoint {
  endpoint: restate.RestateEndpoint;
  registry: ProcessRegistry;
  sessions: SessionStore;
}

/** Builds the endpoint (all lash services bound) from the env configuration. */
export async function createLashEndpoint(config: EnvConfig, plugins: Plugin[] = []): Promise<LashEndpoint> {
  const model = modelConfigOf(config);
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
    restate: { adminUrl: config.RESTATE_ADMIN_URL, ingressUrl: config.RESTATE_INGRESS_URL },
    workflow: {
      retryPolicy: { ...DEFAULT_RETRY_POLICY, ...(config.LASH_RETRY_MAX_ATTEMPTS ? { maxAttempts: config.LASH_RETRY_MAX_ATTEMPTS } : {}) },
    },
  });
  let endpoint = restate.endpoint();
  for (const service of services.all) endpoint = endpoint.bind(service);
  if (config.RESTATE_IDENTITY_KEYS?.length) endpoint = endpoint.withIdentityV1(...config.RESTATE_IDENTITY_KEYS);
  return { endpoint, registry, sessions };
}

/**
 * Asks Restate for one recovery sweep once this endpoint is registered (the
 * ingress answers 404 for an unknown service until then). Gives up quietly
 * after `timeoutMs`: the next start or a scheduled sweep covers it.
 */
export async function requestStartupSweep(config: EnvConfig, timeoutMs = 60_000, log = console): Promise<boolean> {
  const url = `${config.RESTATE_INGRESS_URL}/LashProcessRecovery/${config.LASH_REGISTRY_NAME}/sweep/send`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      if (res.ok) {
        log.info(`lash: start-up recovery sweep requested (${(await res.json() as { invocationId?: string }).invocationId ?? "sent"})`);
        return true;
      }
    } catch {
      // Restate not up yet.
    }
    await new Promise((r) => setTimeout(r, 500).unref());
  }
  log.warn("lash: could not request the start-up recovery sweep (is the endpoint registered with Restate?)");
  return false;
}
