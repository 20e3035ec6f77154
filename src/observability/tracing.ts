import type * as Api from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace";
import { LashError } from "../model/index.ts";

/** An OpenTelemetry tracer, loaded only when tracing is configured and the packages are installed. */
export interface Tracing {
  api: typeof Api;
  tracer: Api.Tracer;
  /** Exports what is buffered (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Export here instead of what `OTEL_TRACES_EXPORTER` says (e.g. an in-memory exporter in a test). */
  exporter?: SpanExporter;
  /** Export each span as it ends (default: batched). */
  simple?: boolean;
}

const PACKAGES = "@opentelemetry/api, @opentelemetry/sdk-trace, @opentelemetry/resources and an OTLP exporter";

/**
 * Tracing from the standard OpenTelemetry environment: `OTEL_TRACES_EXPORTER`
 * (`otlp` or `console`; unset or `none`: no tracing), `OTEL_EXPORTER_OTLP_PROTOCOL`
 * (`http/protobuf`, the default, or `http/json`), `OTEL_EXPORTER_OTLP_ENDPOINT` (read
 * by the exporter), `OTEL_SERVICE_NAME` (default `lash-processes`), `OTEL_SDK_DISABLED`.
 *
 * The `@opentelemetry/*` packages are optional dependencies, loaded with a dynamic
 * import: without them nothing is traced (`undefined`, and `log` says why when
 * tracing was asked for) and nothing else changes.
 */
export async function loadTracing(
  env: Partial<
    Record<"OTEL_TRACES_EXPORTER" | "OTEL_EXPORTER_OTLP_PROTOCOL" | "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" | "OTEL_SERVICE_NAME" | "OTEL_SDK_DISABLED", string>
  >,
  opts: TracingOptions = {},
  log: (message: string) => void = () => {},
): Promise<Tracing | undefined> {
  const wanted = (env.OTEL_TRACES_EXPORTER ?? "none").split(",")[0]!.trim();
  if (env.OTEL_SDK_DISABLED === "true") return undefined;
  if (opts.exporter === undefined && (wanted === "none" || wanted === "")) return undefined;
  if (opts.exporter === undefined && wanted !== "otlp" && wanted !== "console") {
    throw new LashError("invalid_input", `OTEL_TRACES_EXPORTER: must be otlp, console or none (got ${JSON.stringify(wanted)})`, {
      field: "OTEL_TRACES_EXPORTER",
    });
  }
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf";
  if (opts.exporter === undefined && wanted === "otlp" && protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new LashError(
      "invalid_input",
      `OTEL_EXPORTER_OTLP_PROTOCOL: must be http/protobuf or http/json (got ${JSON.stringify(protocol)}; grpc is not bundled)`,
      {
        field: "OTEL_EXPORTER_OTLP_PROTOCOL",
      },
    );
  }
  let api: typeof Api;
  let sdk: typeof import("@opentelemetry/sdk-trace");
  let resources: typeof import("@opentelemetry/resources");
  try {
    api = await import("@opentelemetry/api");
    sdk = await import("@opentelemetry/sdk-trace");
    resources = await import("@opentelemetry/resources");
  } catch (err) {
    log(`lash: tracing is configured but ${PACKAGES} are not installed (${(err as Error).message}); nothing is traced`);
    return undefined;
  }
  let exporter = opts.exporter;
  if (exporter === undefined && wanted === "console") exporter = new sdk.ConsoleSpanExporter();
  if (exporter === undefined) {
    try {
      exporter =
        protocol === "http/json"
          ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter()
          : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
    } catch (err) {
      log(`lash: the OTLP exporter for ${protocol} is not installed (${(err as Error).message}); nothing is traced`);
      return undefined;
    }
  }
  const processor = opts.simple ? new sdk.SimpleSpanProcessor({ exporter }) : new sdk.BatchSpanProcessor({ exporter });
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? "lash-processes" }),
    spanProcessors: [processor],
  });
  return {
    api,
    tracer: provider.getTracer("lash-processes"),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
