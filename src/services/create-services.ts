import type * as restate from "@restatedev/restate-sdk";
import { DEFAULT_RESTATE_URLS } from "../model/index.ts";
import type { ProcessRegistry, DurabilityTier } from "../registry/port.ts";
import type { ConcurrencyLimits } from "../runtime/limits.ts";
import { noopObserver, type LashObserver } from "../runtime/observer.ts";
import { PluginHost, type Plugin } from "../runtime/plugin.ts";
import type { LashRuntime, ResourceCaps, SessionTurnRunner } from "../runtime/runtime-config.ts";
import { DEFAULT_CAPS } from "../runtime/resource-caps.ts";
import type { ModelConfig } from "../runtime/session-turn/model-config.ts";
import { createSessionTurnRunner } from "../runtime/session-turn/session-turn-runner.ts";
import type { SessionStore } from "../sessions/session-store.ts";
import { stdPlugin } from "../runtime/std/std-plugin.ts";
import type { WakeTarget } from "../runtime/wake.ts";
import { createProcessWorkflow, type WorkflowOptions } from "../workflows/process-workflow.ts";
import { createConcurrencyLimiter } from "./concurrency-limiter.ts";
import { createProcessesService } from "./processes-service.ts";
import { createRecoveryService, type RestateEndpoints } from "./recovery-service.ts";

export interface ServicesConfig {
  registry: ProcessRegistry;
  /** Host plugins; the `std` plugin is always added. */
  plugins?: Plugin[];
  hostProfileId?: string;
  /** Defaults to `durable`: an inline (memory) registry is then refused at the run boundary. */
  durability?: DurabilityTier;
  wakeTarget?: WakeTarget;
  enableShell?: boolean;
  /** `std.steps` (it writes files) runs only when true (`LASH_ENABLE_TEST_TOOLS`). */
  enableTestTools?: boolean;
  /** Hosts `std.http` may reach on loopback/link-local/private addresses (`LASH_HTTP_ALLOW`). */
  httpAllow?: readonly string[];
  /** The host's own runner for `session_turn` processes; takes precedence over `model`. */
  sessionTurnRunner?: SessionTurnRunner;
  /** Caps on events per process and processes per session (defaults: `DEFAULT_CAPS`). */
  caps?: Partial<ResourceCaps>;
  /** Session conversations (`openSessionStore(registryUrl)`); needed by `model` and `LashProcesses/session`. */
  sessions?: SessionStore;
  /** The built-in runner on an OpenAI-compatible chat-completions API (`LASH_MODEL_*`). */
  model?: ModelConfig;
  /** Where the recovery service reaches Restate's admin API and ingress. */
  restate?: RestateEndpoints;
  workflow?: WorkflowOptions;
  /** Deployment-wide concurrency limits (`LASH_MAX_CONCURRENT`), over the definitions' `maxConcurrent`. */
  limits?: ConcurrencyLimits;
  /** Retention for scheduled recovery sweeps (`LASH_RETENTION`): finished processes older than this are pruned. */
  retentionMs?: number;
  /** Metrics and trace hooks, e.g. `createTelemetry(...)` from `src/observability/`. */
  observer?: LashObserver;
}

export const DEFAULT_RESTATE_ENDPOINTS: RestateEndpoints = { adminUrl: DEFAULT_RESTATE_URLS.admin, ingressUrl: DEFAULT_RESTATE_URLS.ingress };

/** The Restate service definitions, for hosts that bind them to an endpoint themselves. */
export function createServices(config: ServicesConfig) {
  const observer = config.observer ?? noopObserver;
  const plugins = new PluginHost([
    stdPlugin({ enableShell: config.enableShell ?? false, enableTestTools: config.enableTestTools ?? false, httpAllow: config.httpAllow ?? [] }),
    ...(config.plugins ?? []),
  ]);
  const sessionTurnRunner = config.sessionTurnRunner ?? builtInRunner(config, plugins);
  const rt: LashRuntime = {
    registry: observer.registry(config.registry),
    observer,
    plugins,
    hostProfileId: config.hostProfileId ?? "default",
    durability: config.durability ?? "durable",
    ...(config.wakeTarget ? { wakeTarget: config.wakeTarget } : {}),
    ...(sessionTurnRunner ? { sessionTurnRunner } : {}),
    ...(config.sessions ? { sessions: config.sessions } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
    caps: { ...DEFAULT_CAPS, ...config.caps },
  };
  const workflow = createProcessWorkflow(rt, config.workflow);
  const processes = createProcessesService(rt, workflow);
  const recovery = createRecoveryService(rt, config.restate ?? DEFAULT_RESTATE_ENDPOINTS, {
    ...(config.retentionMs === undefined ? {} : { retentionMs: config.retentionMs }),
  });
  const limiter = createConcurrencyLimiter(rt.registry);
  const all: (restate.ServiceDefinition<string, unknown> | restate.WorkflowDefinition<string, unknown> | restate.VirtualObjectDefinition<string, unknown>)[] = [
    workflow,
    processes,
    recovery,
    limiter,
  ];
  return { runtime: rt, workflow, processes, recovery, limiter, all };
}

function builtInRunner(config: ServicesConfig, plugins: PluginHost): SessionTurnRunner | undefined {
  if (config.model === undefined) return undefined;
  if (config.sessions === undefined) throw new Error("createServices: `model` needs `sessions` (a session store, e.g. openSessionStore(registryUrl))");
  return createSessionTurnRunner({ sessions: config.sessions, catalog: plugins.catalog(), config: config.model });
}
