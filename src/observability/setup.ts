import type { EnvConfig } from "../config.ts";
import type { LashObserver } from "../runtime/observer.ts";
import { serveMetrics, type MetricsServer } from "./metrics-server.ts";
import type { LashMetrics } from "./prometheus-metrics.ts";
import { createTelemetry } from "./telemetry.ts";
import { loadTracing, type Tracing, type TracingOptions } from "./tracing.ts";
import type { Log } from "./json-log.ts";

export interface Observability {
  observer: LashObserver;
  metrics: LashMetrics | undefined;
  metricsServer: MetricsServer | undefined;
  tracing: Tracing | undefined;
  /** Stops the metrics server and flushes buffered spans. */
  close(): Promise<void>;
}

/** Metrics (with `LASH_METRICS_PORT`) and traces (with `OTEL_TRACES_EXPORTER`) from the endpoint's configuration. */
export async function setUpObservability(config: EnvConfig, log: Log, tracingOptions: TracingOptions = {}): Promise<Observability> {
  // Two standard variables EnvConfig does not list are read as they are.
  const otelEnv = { OTEL_SDK_DISABLED: process.env.OTEL_SDK_DISABLED, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL };
  const tracing = await loadTracing({ ...otelEnv, ...config }, tracingOptions, (m) => log.warn(m));
  // prom-client (about 20 MB resident) is loaded only when metrics are on.
  const metrics = config.LASH_METRICS_PORT === undefined ? undefined : new (await import("./prometheus-metrics.ts")).LashMetrics();
  const metricsServer = metrics === undefined ? undefined : await serveMetrics(metrics, config.LASH_METRICS_PORT!, config.LASH_BIND_HOST);
  if (metricsServer) log.info(`lash: metrics at http://${config.LASH_BIND_HOST ?? "127.0.0.1"}:${metricsServer.port}/metrics`);
  if (tracing) log.info(`lash: tracing to ${config.OTEL_TRACES_EXPORTER ?? "a configured exporter"} as ${config.OTEL_SERVICE_NAME ?? "lash-processes"}`);
  return {
    observer: createTelemetry({ ...(metrics ? { metrics } : {}), ...(tracing ? { tracing } : {}) }),
    metrics,
    metricsServer,
    tracing,
    async close() {
      await metricsServer?.close();
      await tracing?.shutdown();
    },
  };
}
