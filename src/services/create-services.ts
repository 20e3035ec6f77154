import type * as restate from "@restatedev/restate-sdk";
import type { ProcessRegistry, DurabilityTier } from "../registry/port.ts";
import { noopObserver, type LashObserver } from "../runtime/observer.ts";
import { PluginHost, type Plugin } from "../runtime/plugin.ts";
import type { LashRuntime, SessionTurnRunner } from "../runtime/runtime-config.ts";
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
  sessionTurnRunner?: SessionTurnRunner;
  /** Where the recovery service reaches Restate's admin API and ingress. */
  restate?: RestateEndpoints;
  workflow?: WorkflowOptions;
  /** Metrics and trace hooks, e.g. `createTelemetry(...)` from `src/observability/`. */
  observer?: LashObserver;
}

export const DEFAULT_RESTATE_ENDPOINTS: RestateEndpoints = { adminUrl: "http://127.0.0.1:9070", ingressUrl: "http://127.0.0.1:8080" };

/** The Restate service definitions, for hosts that bind them to an endpoint themselves. */
export function createServices(config: ServicesConfig) {
  const observer = config.observer ?? noopObserver;
  const rt: LashRuntime = {
    registry: observer.registry(config.registry),
    observer,
    plugins: new PluginHost([stdPlugin({ enableShell: config.enableShell ?? false }), ...(config.plugins ?? [])]),
    hostProfileId: config.hostProfileId ?? "default",
    durability: config.durability ?? "durable",
    ...(config.wakeTarget ? { wakeTarget: config.wakeTarget } : {}),
    ...(config.sessionTurnRunner ? { sessionTurnRunner: config.sessionTurnRunner } : {}),
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
