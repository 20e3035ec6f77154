import type * as restate from "@restatedev/restate-sdk";
import type { ProcessRegistry, DurabilityTier } from "../registry/port.ts";
import { PluginHost, type Plugin } from "../runtime/plugin.ts";
import type { LashRuntime, SessionTurnRunner } from "../runtime/runtime-config.ts";
import type { ModelConfig } from "../runtime/session-turn/model-config.ts";
import { createSessionTurnRunner } from "../runtime/session-turn/session-turn-runner.ts";
import type { SessionStore } from "../sessions/session-store.ts";
import { stdPlugin } from "../runtime/std/std-plugin.ts";
import type { WakeTarget } from "../runtime/wake.ts";
import { createProcessWorkflow, type WorkflowOptions } from "../workflows/process-workflow.ts";
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
  /** The host's own runner for `session_turn` processes; takes precedence over `model`. */
  sessionTurnRunner?: SessionTurnRunner;
  /** Session conversations (`openSessionStore(registryUrl)`); needed by `model` and `LashProcesses/session`. */
  sessions?: SessionStore;
  /** The built-in runner on an OpenAI-compatible chat-completions API (`LASH_MODEL_*`). */
  model?: ModelConfig;
  /** Where the recovery service reaches Restate's admin API and ingress. */
  restate?: RestateEndpoints;
  workflow?: WorkflowOptions;
}

export const DEFAULT_RESTATE_ENDPOINTS: RestateEndpoints = { adminUrl: "http://127.0.0.1:9070", ingressUrl: "http://127.0.0.1:8080" };

/** The Restate service definitions, for hosts that bind them to an endpoint themselves. */
export function createServices(config: ServicesConfig) {
  const plugins = new PluginHost([stdPlugin({ enableShell: config.enableShell ?? false }), ...(config.plugins ?? [])]);
  const sessionTurnRunner = config.sessionTurnRunner ?? builtInRunner(config, plugins);
  const rt: LashRuntime = {
    registry: config.registry,
    plugins,
    hostProfileId: config.hostProfileId ?? "default",
    durability: config.durability ?? "durable",
    ...(config.wakeTarget ? { wakeTarget: config.wakeTarget } : {}),
    ...(sessionTurnRunner ? { sessionTurnRunner } : {}),
    ...(config.sessions ? { sessions: config.sessions } : {}),
  };
  const workflow = createProcessWorkflow(rt, config.workflow);
  const processes = createProcessesService(rt, workflow);
  const recovery = createRecoveryService(rt, config.restate ?? DEFAULT_RESTATE_ENDPOINTS);
  const all: (restate.ServiceDefinition<string, unknown> | restate.WorkflowDefinition<string, unknown> | restate.VirtualObjectDefinition<string, unknown>)[] = [
    workflow,
    processes,
    recovery,
  ];
  return { runtime: rt, workflow, processes, recovery, all };
}

function builtInRunner(config: ServicesConfig, plugins: PluginHost): SessionTurnRunner | undefined {
  if (config.model === undefined) return undefined;
  if (config.sessions === undefined) throw new Error("createServices: `model` needs `sessions` (a session store, e.g. openSessionStore(registryUrl))");
  return createSessionTurnRunner({ sessions: config.sessions, catalog: plugins.catalog(), config: config.model });
}
