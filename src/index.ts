/**
 * The public API of lash-processes: the model (zod schemas and types), the
 * registry, plugin definitions, the Restate services and endpoint, and the client.
 */
export * from "./model/index.ts";

export { openRegistry } from "./registry/open-registry.ts";
export type {
  ProcessRegistry,
  DurabilityTier,
  RegisterResult,
  CompleteResult as RegistryCompleteResult,
  Page,
  CancelRequest,
  CancelRequestResult,
} from "./registry/port.ts";

export { definePlugin, defineTool, defineProgram } from "./runtime/plugin.ts";
export type { Plugin, ToolDefinition, ProgramDefinition, ProcessBodyDefinition } from "./runtime/plugin.ts";
export { ProcessFailure } from "./runtime/process-failure.ts";
export type { ProcessContext, ChildHandle, ChildSpec, ParentClosePolicy, StepRetry, SignalResult, ProcessLog } from "./runtime/process-context.ts";
export { ProcessCancelled } from "./runtime/cancel-gate.ts";
export type { SessionTurnRunner, SessionTurnArgs } from "./runtime/runtime-config.ts";

export { createServices, type ServicesConfig } from "./services/create-services.ts";
export { openSessionStore } from "./sessions/open-session-store.ts";
export type { SessionStore } from "./sessions/session-store.ts";
export { SessionMessage, SessionAppend, TokenUsage } from "./model/session-entry.ts";
export { createSessionTurnRunner, type SessionTurnRunnerDeps, type TurnResult } from "./runtime/session-turn/session-turn-runner.ts";
export { ModelConfig } from "./runtime/session-turn/model-config.ts";
export { createLashEndpoint, requestStartupSweep, type LashEndpoint } from "./endpoint.ts";
export { readEnvConfig, EnvConfig } from "./config.ts";

export type { LashObserver, RunObservation, RunAttemptInfo } from "./runtime/observer.ts";
export { createTelemetry, type TelemetryOptions } from "./observability/telemetry.ts";
export { LashMetrics } from "./observability/prometheus-metrics.ts";
export { serveMetrics, type MetricsServer } from "./observability/metrics-server.ts";
export { loadTracing, type Tracing, type TracingOptions } from "./observability/tracing.ts";
export { startConsole, type ConsoleOptions, type ConsoleServer } from "./console/console-server.ts";

export * from "./client/index.ts";
