import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ProcessAwaitOutput, ProcessEvent, ProcessRecord } from "../../src/model/index.ts";
import { MemoryRegistry } from "../../src/registry/memory-registry.ts";
import { adminQuery } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type ErrorBody, type LashStack } from "../support/lash-stack.ts";

describe("validation at the boundary writes nothing", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ hostProfileId: "worker-a" });
  });
  after(async () => s?.close());

  const nothingWritten = async (id: string) => {
    assert.equal(await s.registry.get(id), undefined, `no row for ${id}`);
    const live = await adminQuery(s.admin, `SELECT id FROM sys_invocation WHERE target_service_key = '${id}' AND status != 'completed'`);
    assert.deepEqual(live, [], `no invocation left running for ${id}`);
  };

  const cases: [string, string | object, number, RegExp][] = [
    ["malformed JSON", "{not json", 400, /deserialize/i],
    ["a wrong type", { registration: { ...registration("bad-type", tool("std.echo", { value: 1 })), eventTypes: "nope" } }, 400, /\/registration\/eventTypes/],
    ["a forbidden id character", { registration: registration("bad id!", tool("std.echo", { value: 1 })) }, 400, /\/registration\/id/],
    ["an unknown input type", { registration: registration("bad-input", { type: "teleport" }) }, 400, /\/registration\/input\/type/],
    ["an unknown tool", { registration: registration("bad-tool", tool("std.nope", {})) }, 400, /registration\.input\.call\.tool: unknown tool "std\.nope"/],
    [
      "args failing the tool's schema",
      { registration: registration("bad-args", tool("std.sleep", { ms: "soon" })) },
      400,
      /registration\.input\.call\.args\.ms/,
    ],
    [
      "duplicate event names",
      { registration: registration("dup-events", tool("std.echo", { value: 1 }), { eventTypes: [{ name: "a" }, { name: "a" }] }) },
      400,
      /eventTypes\/1\/name/,
    ],
    [
      "another host profile",
      {
        registration: registration("other-host", tool("std.echo", { value: 1 }), { provenance: { ownerScope: { sessionId: "s" }, hostProfileId: "worker-b" } }),
      },
      409,
      /host profile "worker-b" but this worker is "worker-a"/,
    ],
  ];
  for (const [what, body, status, message] of cases) {
    it(`LashProcesses.start refuses ${what} with ${status}`, async () => {
      const res =
        typeof body === "string" ? await s.post<ErrorBody>("/LashProcesses/start", undefined, body) : await s.post<ErrorBody>("/LashProcesses/start", body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(res.body.message, message);
      const id = typeof body === "string" ? "none" : (body as { registration: { id: string } }).registration.id;
      await nothingWritten(id);
    });
  }

  it("the per-process handlers validate without publishing a JSON Schema to Restate; the operator handlers publish theirs", async () => {
    // restate-server copies an invoked handler's schemas on every invocation (restate-handlers.ts, perProcessJson).
    const handlers = async (service: string) =>
      new Map(
        ((await (await fetch(`${s.admin}/services/${service}`)).json()) as { handlers: { name: string; input_json_schema?: unknown }[] }).handlers.map(
          (h) => [h.name, h.input_json_schema] as const,
        ),
      );
    const workflow = await handlers("LashProcessWorkflow");
    for (const name of ["run", "cancel", "signal", "complete"]) assert.equal(workflow.get(name) ?? undefined, undefined, `LashProcessWorkflow/${name}`);
    const processes = await handlers("LashProcesses");
    assert.equal(processes.get("start") ?? undefined, undefined, "LashProcesses/start");
    assert.equal((processes.get("list") as { type?: string } | undefined)?.type, "object", "LashProcesses/list keeps its schema");
  });

  it("a different registration under a known id is a 409 registration_conflict and the row is unchanged", async () => {
    const first = registration("conflict", tool("std.echo", { value: 1 }));
    assert.equal((await s.post("/LashProcesses/start", { registration: first })).status, 200);
    const before = await s.registry.get("conflict");
    const res = await s.post<ErrorBody>("/LashProcesses/start", { registration: registration("conflict", tool("std.echo", { value: 2 })) });
    assert.equal(res.status, 409);
    assert.match(res.body.message, /^registration_conflict:/);
    assert.equal((await s.registry.get("conflict"))?.registrationHash, before?.registrationHash);
  });

  it("run refuses a key that differs from registration.id, before anything is written", async () => {
    const res = await s.post<ErrorBody>("/LashProcessWorkflow/key-a/run", { registration: registration("key-b", tool("std.echo", { value: 1 })) });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /^process_key_mismatch:/);
    assert.equal(await s.registry.get("key-a"), undefined);
    assert.equal(await s.registry.get("key-b"), undefined);
  });

  it("LashProcesses.get of an unknown id is a 404; list and events page through what exists", async () => {
    assert.equal((await s.post("/LashProcesses/get", { id: "ghost" })).status, 404);
    await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/listed/run", { registration: registration("listed", tool("std.echo", { value: "x" })) });
    const got = await s.post<ProcessRecord>("/LashProcesses/get", { id: "listed" });
    assert.equal(got.body.status, "completed");
    const page = await s.post<{ items: ProcessRecord[]; nextCursor?: string }>("/LashProcesses/list", { status: "completed", limit: 1 });
    assert.equal(page.body.items.length, 1);
    assert.ok(page.body.nextCursor);
    const events = await s.post<{ events: ProcessEvent[] }>("/LashProcesses/events", { id: "listed", after: 1 });
    assert.deepEqual(
      events.body.events.map((e) => e.type),
      ["process.completed"],
    );
    const status = await s.post<ProcessRecord>("/LashProcessWorkflow/listed/status");
    assert.equal(status.body.status, "completed");
    assert.equal((await s.post("/LashProcesses/list", { limit: 5000 })).status, 400);
  });
});

describe("a durable deployment over an inline registry", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ registry: new MemoryRegistry() });
  });
  after(async () => s?.close());

  it("refuses to run, naming the ProcessRegistry facet", async () => {
    const res = await s.post<ErrorBody>("/LashProcessWorkflow/inline-1/run", { registration: registration("inline-1", tool("std.echo", { value: 1 })) });
    assert.equal(res.status, 500);
    assert.match(res.body.message, /durable_store_required: .*ProcessRegistry/);
    assert.equal(await s.registry.get("inline-1"), undefined);
  });
});

describe("handlers whose input fields are all optional", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack();
  });
  after(async () => s?.close());

  it("accept either no body or a JSON object", async () => {
    assert.equal((await s.post("/LashProcesses/list")).status, 200);
    assert.equal((await s.post("/LashProcesses/list", {})).status, 200);
    assert.equal((await s.post("/LashProcessRecovery/default/sweep")).status, 200);
    assert.equal((await s.post("/LashProcessWorkflow/nobody-yet/cancel")).status, 200);
    assert.equal((await s.post("/LashProcesses/list", { limit: "ten" })).status, 400);
  });
});
