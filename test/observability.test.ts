/**
 * Metrics and traces of a known workload, in-process against a real restate-server:
 * Prometheus text scraped over HTTP from `/metrics`; spans captured by an in-memory
 * exporter (run per attempt, steps not duplicated by replay, registry calls under
 * their step, signal and cancel, a starter's traceparent as the parent); and the
 * events long poll (`waitMs`) answering as soon as an event exists.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { z } from "zod";
import { LashProcessClient } from "../src/client/index.ts";
import type { ProcessRegistrationInput } from "../src/model/index.ts";
import { serveMetrics, type MetricsServer } from "../src/observability/metrics-server.ts";
import { LashMetrics } from "../src/observability/prometheus-metrics.ts";
import { createTelemetry } from "../src/observability/telemetry.ts";
import { loadTracing, type Tracing } from "../src/observability/tracing.ts";
import { definePlugin, defineProgram } from "../src/runtime/plugin.ts";
import { startLashStack, type LashStack } from "./support/lash-stack.ts";
import { freePort } from "./support/ports.ts";
import { adminQuery } from "./support/restate-server.ts";

const obsPlugin = definePlugin({
  name: "obs",
  programs: [
    defineProgram({
      name: "obs.two_steps",
      args: z.object({ signal: z.string().optional() }),
      run: async (ctx) => {
        const a = await ctx.step("first", async () => 1);
        if (ctx.args.signal !== undefined) await ctx.waitFor(ctx.args.signal);
        const b = await ctx.step("second", async () => 2);
        await ctx.emit("note", { sum: a + b });
        return { sum: a + b };
      },
    }),
  ],
});

const reg = (id: string, input: ProcessRegistrationInput["input"], eventTypes: { name: string }[] = []): ProcessRegistrationInput => ({
  id,
  input,
  eventTypes,
  provenance: { ownerScope: { sessionId: "obs" }, hostProfileId: "" },
});
const tool = (name: string, args: unknown): ProcessRegistrationInput["input"] => ({ type: "tool_call", call: { tool: name, args } });
const program = (name: string, args: unknown): ProcessRegistrationInput["input"] => ({ type: "program", name, args: args as never });

/** `name{labels} value` lines of a Prometheus text exposition, as a lookup. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("metrics, traces and the events long poll", { timeout: 180_000 }, () => {
  let s: LashStack;
  let client: LashProcessClient;
  let metrics: LashMetrics;
  let server: MetricsServer;
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const attr = (span: ReadableSpan, key: string) => span.attributes[key];

  before(async () => {
    metrics = new LashMetrics();
    tracing = (await loadTracing({}, { exporter, simple: true }))!;
    s = await startLashStack({ plugins: [obsPlugin], observer: createTelemetry({ metrics, tracing }) });
    server = await serveMetrics(metrics, 0, "127.0.0.1");
    client = new LashProcessClient({ ingressUrl: s.ingress });
  });
  after(async () => {
    await server?.close();
    await tracing?.shutdown();
    await s?.close();
  });

  it("reads the OpenTelemetry environment: nothing without an exporter; bad values refused naming the variable", async () => {
    assert.equal(await loadTracing({}), undefined);
    assert.equal(await loadTracing({ OTEL_TRACES_EXPORTER: "none" }), undefined);
    assert.equal(await loadTracing({ OTEL_TRACES_EXPORTER: "otlp", OTEL_SDK_DISABLED: "true" }), undefined);
    await assert.rejects(loadTracing({ OTEL_TRACES_EXPORTER: "zipkin" }), /OTEL_TRACES_EXPORTER: must be otlp, console or none/);
    await assert.rejects(
      loadTracing({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
      /OTEL_EXPORTER_OTLP_PROTOCOL: .*grpc is not bundled/,
    );
    const proto = await loadTracing({ OTEL_TRACES_EXPORTER: "otlp" });
    assert.ok(proto, "http/protobuf by default");
    await proto.shutdown();
  });

  it("counts a known workload in Prometheus text at /metrics", async () => {
    for (let i = 0; i < 3; i++) await (await client.start(reg(`m-echo-${i}`, tool("std.echo", { value: i })))).result();
    await (await client.start(reg("m-fail", tool("std.fail", { code: "nope", message: "no" })))).result();
    await (await client.start(reg("m-steps", program("obs.two_steps", {}), [{ name: "note" }]))).result();
    const waiting = await client.start(reg("m-wait", tool("std.wait_signal", { name: "go" })));
    const cancelled = await client.start(reg("m-cancel", tool("std.wait_signal", { name: "never" })));
    await until("m-cancel waiting", async () => ((await client.get("m-cancel")).status === "waiting" ? true : undefined));
    await cancelled.cancel("enough");
    assert.equal((await cancelled.result()).type, "cancelled");
    await until("m-wait waiting", async () => ((await waiting.status()).status === "waiting" ? true : undefined));
    const sweep = await client.recovery().sweep();
    assert.equal(sweep.alreadyActive, 1);

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, "lash_processes_started_total", { target: "std.echo", kind: "tool_call" }), 3);
    assert.equal(sample(text, "lash_processes_started_total", { target: "obs.two_steps", kind: "program" }), 1);
    assert.equal(sample(text, "lash_processes_terminal_total", { target: "std.echo", outcome: "success" }), 3);
    assert.equal(sample(text, "lash_processes_terminal_total", { target: "std.fail", outcome: "failure" }), 1);
    assert.equal(sample(text, "lash_processes_terminal_total", { target: "std.wait_signal", outcome: "cancelled" }), 1);
    assert.equal(sample(text, "lash_step_duration_seconds_count", { target: "obs.two_steps", result: "ok" }), 2);
    assert.ok((sample(text, "lash_registry_call_duration_seconds_count", { method: "register", result: "ok" }) ?? 0) >= 7);
    assert.ok((sample(text, "lash_registry_call_duration_seconds_count", { method: "complete", result: "ok" }) ?? 0) >= 6);
    assert.equal(sample(text, "lash_recovery_sweep_processes_total", { result: "alreadyActive" }), 1);
    assert.equal(sample(text, "lash_processes", { status: "waiting" }), 1);
    assert.equal(sample(text, "lash_processes", { status: "pending" }), 0);
    for (const line of text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"))) assert.match(line, /^lash_/);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
    await waiting.signal("go");
    await waiting.result();
  });

  it("traces a run per attempt with its steps, registry calls, signals and cancels; no replayed step is traced twice", async () => {
    exporter.reset();
    const handle = await client.start(reg("t-run", program("obs.two_steps", { signal: "go" }), [{ name: "note" }]));
    await until("t-run waiting", async () => ((await handle.status()).status === "waiting" ? true : undefined));
    assert.deepEqual(await handle.signal("go", 1), { sequence: 2 });
    assert.equal((await handle.result()).type, "success");
    await tracing.flush();
    const runs = await until("the run span with the outcome", () => {
      const found = spans().filter((sp) => sp.name === "lash.process.run obs.two_steps" && attr(sp, "lash.process.id") === "t-run");
      return found.some((sp) => attr(sp, "lash.process.outcome") === "success") ? found : undefined;
    });
    const final = runs.find((sp) => attr(sp, "lash.process.outcome") === "success")!;
    assert.equal(attr(final, "lash.process.target"), "obs.two_steps");
    assert.equal(attr(final, "lash.process.attempt"), 1);
    assert.match(String(attr(final, "restate.invocation.id")), /^inv_/);
    const mine = spans().filter((sp) => attr(sp, "lash.process.id") === "t-run");
    // Each step ran once, so it has one span, whatever the number of run attempts (replays).
    assert.deepEqual(
      mine
        .filter((sp) => sp.name.startsWith("lash.step"))
        .map((sp) => sp.name)
        .sort(),
      ["lash.step first", "lash.step second"],
    );
    const runIds = new Set(runs.map((r) => r.spanContext().spanId));
    for (const step of mine.filter((sp) => sp.name.startsWith("lash.step"))) {
      assert.ok(runIds.has(step.parentSpanContext?.spanId ?? ""), `${step.name} is a child of a run span`);
      assert.equal(step.spanContext().traceId, final.spanContext().traceId);
    }
    const signal = mine.find((sp) => sp.name === "lash.signal");
    assert.equal(signal && attr(signal, "lash.signal.name"), "go");
    // The signal's registry calls (get, appendEvent, countEvents) are its children.
    const under = (parent: ReadableSpan) => mine.filter((sp) => sp.parentSpanContext?.spanId === parent.spanContext().spanId).map((sp) => sp.name);
    assert.deepEqual(under(signal!).sort(), ["lash.registry appendEvent", "lash.registry countEvents", "lash.registry eventsAfter", "lash.registry get"]); // eventsAfter: the events-per-process cap
    assert.ok(mine.some((sp) => sp.name === "lash.registry complete"));

    const victim = await client.start(reg("t-cancel", tool("std.wait_signal", { name: "never" })));
    await until("t-cancel waiting", async () => ((await victim.status()).status === "waiting" ? true : undefined));
    await victim.cancel("stop");
    assert.equal((await victim.result()).type, "cancelled");
    await tracing.flush();
    const cancelRun = await until("t-cancel's run span with its outcome", () =>
      spans().find((sp) => attr(sp, "lash.process.id") === "t-cancel" && attr(sp, "lash.process.outcome") === "cancelled"),
    );
    assert.ok(cancelRun.name.startsWith("lash.process.run"));
    assert.ok(spans().some((sp) => sp.name === "lash.cancel" && attr(sp, "lash.process.id") === "t-cancel"));
  });

  it("makes a starter's W3C traceparent the parent of the run", async () => {
    exporter.reset();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`${s.ingress}/LashProcesses/start`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ registration: reg("t-parent", tool("std.echo", { value: 1 })) }),
    });
    assert.equal(res.status, 200);
    await client.handle("t-parent").result();
    await tracing.flush();
    const run = await until("t-parent's run span", () =>
      spans().find(
        (sp) => sp.name.startsWith("lash.process.run") && attr(sp, "lash.process.id") === "t-parent" && attr(sp, "lash.process.outcome") !== undefined,
      ),
    );
    assert.equal(run.spanContext().traceId, traceId);
  });

  it("answers an events long poll as soon as an event exists, or empty at the deadline; caps waitMs", async () => {
    const handle = await client.start(reg("lp-1", tool("std.wait_signal", { name: "go" })));
    await until("lp-1 waiting", async () => ((await handle.status()).status === "waiting" ? true : undefined));
    const last = (await s.post("/LashProcesses/events", { id: "lp-1" })).body.events.at(-1).sequence as number;
    const empty = await s.post("/LashProcesses/events", { id: "lp-1", after: last, waitMs: 300 });
    assert.deepEqual([empty.status, empty.body], [200, { events: [] }]);
    const waiting = s.post("/LashProcesses/events", { id: "lp-1", after: last, waitMs: 25_000 });
    let answered = false;
    void waiting.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(answered, false, "the long poll waits while there is nothing new");
    await handle.signal("go", "x");
    const got = await waiting;
    assert.deepEqual(got.body.events.map((e: { type: string }) => e.type).slice(0, 1), ["signal.go"]);
    const tooLong = await s.post("/LashProcesses/events", { id: "lp-1", waitMs: 30_001 });
    assert.equal(tooLong.status, 400);
    assert.match(JSON.stringify(tooLong.body), /waitMs/);
    // A terminal process answers at once (nothing more will come).
    await handle.result();
    const done = await s.post("/LashProcesses/events", { id: "lp-1", after: 99, waitMs: 25_000 });
    assert.deepEqual(done.body, { events: [] });
    // The client's follow uses it and ends after the terminal event.
    const followed = [];
    for await (const e of handle.events({ follow: true })) followed.push(e.type);
    assert.equal(followed.at(-1), "process.completed");
    const none = [];
    for await (const e of handle.events({ follow: true, after: 99 })) none.push(e);
    assert.deepEqual(none, [], "following past the terminal event ends instead of waiting forever");
  });

  it("after a suspension: one run span per attempt, each step traced once, in the starter's trace and tied to Restate's spans", async () => {
    // Restate suspends an idle invocation after 1 s and traces (to a port nobody listens on:
    // the spans are lost, the trace context it sends the endpoint is what counts here).
    const replayExporter = new InMemorySpanExporter();
    const replayTracing = (await loadTracing({}, { exporter: replayExporter, simple: true }))!;
    const serverEnv = { RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT: "1s", RESTATE_TRACING_ENDPOINT: `http://127.0.0.1:${await freePort()}` };
    const stack = await startLashStack({ plugins: [obsPlugin], observer: createTelemetry({ tracing: replayTracing }), serverEnv });
    try {
      const traceId = "0af7651916cd43dd8448eb211c80319c";
      const starter = "b7ad6b7169203331";
      const res = await fetch(`${stack.ingress}/LashProcesses/start`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-${starter}-01` },
        body: JSON.stringify({ registration: reg("r-1", program("obs.two_steps", { signal: "go" }), [{ name: "note" }]) }),
      });
      assert.equal(res.status, 200);
      await until("r-1 suspended", async () => {
        const rows = await adminQuery<{ status: string }>(
          stack.admin,
          "SELECT status FROM sys_invocation WHERE target_service_key = 'r-1' AND target_handler_name = 'run'",
        );
        return rows[0]?.status === "suspended" ? true : undefined;
      });
      const remote = new LashProcessClient({ ingressUrl: stack.ingress });
      await remote.handle("r-1").signal("go", 1);
      assert.equal((await remote.handle("r-1").result()).type, "success");
      await replayTracing.flush();
      const mine = () => replayExporter.getFinishedSpans().filter((sp) => attr(sp, "lash.process.id") === "r-1");
      const runs = await until("two run attempts", () => {
        const found = mine().filter((sp) => sp.name.startsWith("lash.process.run"));
        return found.length >= 2 && found.some((sp) => attr(sp, "lash.process.outcome") === "success") ? found : undefined;
      });
      assert.equal(runs.filter((sp) => attr(sp, "lash.process.outcome") === "success").length, 1, "only the finishing attempt carries the outcome");
      const steps = mine().filter((sp) => sp.name.startsWith("lash.step"));
      assert.deepEqual(steps.map((sp) => sp.name).sort(), ["lash.step first", "lash.step second"], "a replayed step is not traced again");
      const byId = new Map(runs.map((r) => [r.spanContext().spanId, r]));
      const first = byId.get(steps.find((sp) => sp.name === "lash.step first")!.parentSpanContext!.spanId);
      const second = byId.get(steps.find((sp) => sp.name === "lash.step second")!.parentSpanContext!.spanId);
      assert.ok(first && second && first !== second, "each step is a child of the attempt that ran it");
      for (const sp of [...runs, ...steps]) assert.equal(sp.spanContext().traceId, traceId, "one trace, the starter's");
      for (const run of runs) {
        // Restate traces the run that `start` sent in a trace of its own: the starter's span
        // is the parent, Restate's attempt span a link.
        assert.equal(run.parentSpanContext?.spanId, starter);
        assert.equal(run.links.length, 1);
        assert.notEqual(run.links[0]!.context.traceId, traceId);
      }
      // A run called directly through the ingress is in the starter's trace on Restate's side
      // too: then the run span nests under Restate's attempt span.
      const direct = await fetch(`${stack.ingress}/LashProcessWorkflow/r-2/run`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-${starter}-01` },
        body: JSON.stringify({ registration: reg("r-2", tool("std.echo", { value: 2 })) }),
      });
      assert.equal(direct.status, 200);
      await replayTracing.flush();
      const directRun = await until("r-2's run span", () =>
        replayExporter.getFinishedSpans().find((sp) => sp.name.startsWith("lash.process.run") && attr(sp, "lash.process.id") === "r-2"),
      );
      assert.equal(directRun.spanContext().traceId, traceId);
      assert.ok(directRun.parentSpanContext && directRun.parentSpanContext.spanId !== starter, "the parent is Restate's span, under the starter's");
      assert.deepEqual(directRun.links, []);
    } finally {
      await replayTracing.shutdown();
      await stack.close();
    }
  });
});
