import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pidGone } from "../support/child.ts";
import { startCrashStack, type CrashStack } from "../support/crash-stack.ts";

/** Stands for a 20 KB value nested 10,000 levels deep (JSON.stringify cannot write one). */
const DEEP = "@@DEEP@@";
const deep = (): unknown => DEEP;
const deepText = "[".repeat(10_000) + "]".repeat(10_000);

async function postRaw(ingress: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const text = JSON.stringify(body).replaceAll(JSON.stringify(DEEP), deepText);
  const res = await fetch(`${ingress}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: text,
    signal: AbortSignal.timeout(30_000),
  });
  const answer = await res.text();
  return { status: res.status, body: answer ? JSON.parse(answer) : undefined };
}

describe("deeply nested input never takes the endpoint down", () => {
  let s: CrashStack;
  before(async () => {
    s = await startCrashStack();
    const res = await s.post("/LashProcesses/start", {
      registration: { id: "ext", input: { type: "external" }, provenance: { ownerScope: { sessionId: "deep" }, hostProfileId: "" } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
  after(async () => s?.close());

  const reg = (id: string, extra: Record<string, unknown>) => ({
    registration: { id, provenance: { ownerScope: { sessionId: "deep" }, hostProfileId: "" }, ...extra },
  });
  const cases: [string, string, unknown, RegExp][] = [
    [
      "tool args",
      "/LashProcesses/start",
      reg("deep-args", { input: { type: "tool_call", call: { tool: "std.echo", args: { value: deep() } } } }),
      /registration\.input\.call\.args/,
    ],
    [
      "a payloadSchema",
      "/LashProcesses/start",
      reg("deep-schema", { input: { type: "external" }, eventTypes: [{ name: "e", payloadSchema: { x: deep() } }] }),
      /registration\.eventTypes\.0\.payloadSchema/,
    ],
    ["a signal payload", "/LashProcessWorkflow/ext/signal", { name: "s", payload: deep() }, /payload/],
    ["a complete output", "/LashProcessWorkflow/ext/complete", { output: { type: "success", value: deep() } }, /output\.value/],
    [
      "executionContext",
      "/LashProcessWorkflow/deep-ctx/run",
      { ...reg("deep-ctx", { input: { type: "external" } }), executionContext: { k: deep() } },
      /executionContext\.k/,
    ],
  ];
  for (const [what, path, body, field] of cases) {
    it(`${what}: 400 naming the field, endpoint still alive`, async () => {
      const res = await postRaw(s.restate.ingressUrl, path, body);
      assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 500));
      assert.match(res.body.message, /nested deeper than/);
      assert.match(res.body.message, field);
      assert.ok(!pidGone(s.endpoint.pid), `endpoint process still running:\n${s.endpoint.output().slice(-2000)}`);
      const ok = await s.post("/LashProcesses/get", { id: "ext" });
      assert.equal(ok.status, 200);
    });
  }

  it("a body over the request size bound is a 400 before any parsing", async () => {
    const res = await postRaw(s.restate.ingressUrl, "/LashProcessWorkflow/ext/signal", { name: "s", payload: "z".repeat(3 * 1024 * 1024) });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.match(res.body.message, /request body is \d+ bytes; the limit is/);
  });

  it("nothing was written for the refused starts", async () => {
    for (const id of ["deep-args", "deep-schema", "deep-ctx"]) assert.equal(await s.registry.get(id), undefined, id);
    assert.equal((await s.registry.eventsAfter("ext", 0)).filter((e) => e.type.startsWith("signal")).length, 0);
  });
});
