/**
 * The endpoint as a child process (`node src/main.ts`) with the observability
 * environment: spans exported over OTLP/HTTP to a receiver the test runs on
 * 127.0.0.1, Prometheus text at LASH_METRICS_PORT, one JSON object a line with
 * LASH_LOG_FORMAT=json; and, with the @opentelemetry packages hidden, no traces
 * and nothing broken.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { LashProcessClient } from "../src/client/index.ts";
import type { ProcessRegistrationInput } from "../src/model/index.ts";
import type { EndpointProcess } from "./support/endpoint-process.ts";
import { freePort } from "./support/ports.ts";
import { startStack, type Stack } from "./support/stack.ts";

const HIDE_OTEL = fileURLToPath(new URL("./support/hide-otel.ts", import.meta.url));

interface OtlpSpan {
  name: string;
  traceId: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** A minimal OTLP/HTTP (JSON) trace receiver: keeps every span posted to /v1/traces. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; services: Set<string>; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/v1/traces" && req.method === "POST") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: { resource: { attributes: OtlpSpan["attributes"] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans) {
          const name = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue;
          if (name) services.add(name);
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    services,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const attrOf = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
};

const reg = (id: string, value: unknown): ProcessRegistrationInput => ({
  id,
  input: { type: "tool_call", call: { tool: "std.echo", args: { value } } },
  provenance: { ownerScope: { sessionId: "otel" }, hostProfileId: "" },
});

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("endpoint observability (child process)", { timeout: 180_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dir: string;
  const stacks: Stack<EndpointProcess>[] = [];

  const start = async (extra: Record<string, string>) => {
    const stack = await startStack({
      entry: "src/main.ts",
      env: {
        LASH_REGISTRY_URL: `sqlite:${join(dir, `registry-${stacks.length}.db`)}`,
        LASH_RECOVER_ON_START: "0",
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        LASH_LOG_FORMAT: "json",
        RESTATE_LOGGING: "INFO",
        ...extra,
      },
    });
    stacks.push(stack);
    return stack;
  };

  before(async () => {
    receiver = await startReceiver();
    dir = await mkdtemp(join(tmpdir(), "lash-otel-"));
  });
  after(async () => {
    for (const stack of stacks) await stack.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("exports spans over OTLP/HTTP, serves /metrics and writes JSON log lines", async () => {
    const metricsPort = await freePort();
    const stack = await start({ OTEL_SERVICE_NAME: "lash-otlp-test", LASH_METRICS_PORT: String(metricsPort), LASH_BIND_HOST: "127.0.0.1" });
    const client = new LashProcessClient({ ingressUrl: stack.ingress });
    assert.deepEqual(await (await client.start(reg("otlp-1", "hi"))).result(), { type: "success", value: "hi" });

    const run = await until("the run span at the receiver", () =>
      receiver.spans.find((sp) => sp.name === "lash.process.run std.echo" && attrOf(sp, "lash.process.id") === "otlp-1" && attrOf(sp, "lash.process.outcome")),
    );
    assert.equal(attrOf(run, "lash.process.attempt"), 1);
    assert.equal(attrOf(run, "lash.process.outcome"), "success");
    assert.ok(receiver.services.has("lash-otlp-test"));
    assert.ok(receiver.spans.some((sp) => sp.name === "lash.registry complete" && sp.traceId === run.traceId));

    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /^lash_processes_terminal_total\{target="std.echo",outcome="success"\} 1$/m);

    const lines = stack.endpoint
      .output()
      .split("\n")
      .filter((l) => l.trim().length > 0);
    const records = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON log line: ${line}`);
      }
    });
    for (const r of records) {
      assert.equal(typeof r.level, "string");
      assert.ok(!Number.isNaN(Date.parse(String(r.time))), `time: ${String(r.time)}`);
      assert.equal(typeof r.message, "string");
    }
    assert.ok(
      records.some((r) => r.processId === "otlp-1"),
      "a line inside the process's run carries its id",
    );
    assert.ok(records.some((r) => String(r.message).includes("endpoint listening")));
  });

  it("without the @opentelemetry packages nothing is traced and nothing breaks", async () => {
    const before = receiver.spans.length;
    const stack = await start({ OTEL_SERVICE_NAME: "lash-no-otel", NODE_OPTIONS: `--import=${HIDE_OTEL}` });
    const client = new LashProcessClient({ ingressUrl: stack.ingress });
    assert.deepEqual(await (await client.start(reg("no-otel-1", 1))).result(), { type: "success", value: 1 });
    await new Promise((r) => setTimeout(r, 1500)); // several export intervals
    assert.equal(receiver.spans.length, before);
    assert.ok(!receiver.services.has("lash-no-otel"));
    assert.match(stack.endpoint.output(), /tracing is configured but .* not installed/);
  });
});
