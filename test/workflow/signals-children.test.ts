import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ProcessAwaitOutput } from "../../src/model/index.ts";
import { waitFor } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type ErrorBody, type LashStack } from "../support/lash-stack.ts";
import { testPlugin } from "../support/test-plugin.ts";

const program = (name: string, args: unknown) => ({ type: "program", name, args });

describe("signals and child processes", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ plugins: [testPlugin] });
  });
  after(async () => s?.close());

  const start = async (reg: unknown) => {
    const res = await s.post("/LashProcesses/start", { registration: reg });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const result = async (id: string) => (await s.post<ProcessAwaitOutput>(`/LashProcessWorkflow/${id}/awaitTerminal`)).body;

  it("buffers signals sent before the body waits and consumes them in send order", async () => {
    await start(registration("buffered", program("test.sleep_then_wait", { sleepMs: 800, name: "msg", count: 3 })));
    const sequences = [];
    for (const payload of ["first", "second", "third"]) {
      const sent = await s.post<{ sequence: number }>("/LashProcessWorkflow/buffered/signal", { name: "msg", payload });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      sequences.push(sent.body.sequence);
    }
    assert.deepEqual(
      [...sequences].sort((a, b) => a - b),
      sequences,
    );
    assert.deepEqual(await result("buffered"), { type: "success", value: { got: ["first", "second", "third"] } });
    const signals = (await s.registry.eventsAfter("buffered", 0)).filter((e) => e.type === "signal.msg");
    assert.deepEqual(
      signals.map((e) => e.payload),
      ["first", "second", "third"],
    );
  });

  it("std.wait_signal collects count payloads in send order, waiting while none has come", async () => {
    await start(registration("collector", tool("std.wait_signal", { name: "vote", count: 2 })));
    await waitFor(async () => (await s.registry.get("collector"))?.status === "waiting", { timeoutMs: 10_000, what: "waiting" });
    await s.post("/LashProcessWorkflow/collector/signal", { name: "vote", payload: { n: 1 } });
    await s.post("/LashProcessWorkflow/collector/signal", { name: "other", payload: "ignored" });
    await s.post("/LashProcessWorkflow/collector/signal", { name: "vote", payload: { n: 2 } });
    assert.deepEqual(await result("collector"), { type: "success", value: { payloads: [{ n: 1 }, { n: 2 }] } });
  });

  it("a wait with a timeout ends with a timeout failure, not a hang", async () => {
    await start(registration("timeout", tool("std.wait_signal", { name: "never", timeoutMs: 300 })));
    const out = await result("timeout");
    assert.equal(out.type, "failure");
    assert.equal(out.class, "timeout");
    assert.equal(out.code, "signal_timeout");
  });

  it("a signal to an unknown process is a 404, to a terminal one a 409", async () => {
    const unknown = await s.post<ErrorBody>("/LashProcessWorkflow/nobody/signal", { name: "x" });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /^not_found:/);
    await s.post<ProcessAwaitOutput>("/LashProcessWorkflow/finished/run", { registration: registration("finished", tool("std.echo", { value: 0 })) });
    const late = await s.post<ErrorBody>("/LashProcessWorkflow/finished/signal", { name: "x" });
    assert.equal(late.status, 409);
    assert.match(late.body.message, /^process_terminal:/);
  });

  /** What test.chain answers at each level: its id and its child's outcome (a leaf answers `{ leaf }`). */
  interface ChainLink {
    id: string;
    leaf: string;
    child: { value: ChainLink };
  }

  it("a depth-3 chain of children completes; each child records its parent and inherits the owner scope", async () => {
    const reg = registration("chain", program("test.chain", { depth: 3 }), {
      provenance: { ownerScope: { sessionId: "sess-chain", agentFrameId: "f1" }, hostProfileId: "" },
    });
    await start(reg);
    const out = await result("chain");
    // Child ids are `<parent>.<n>`.
    const childId = /^\.0$/;
    assert.equal(out.type, "success");
    const root = (out as unknown as { value: ChainLink }).value;
    assert.equal(root.id, "chain");
    const c0 = root.child.value;
    assert.match(c0.id.slice("chain".length), childId);
    const c1 = c0.child.value;
    assert.match(c1.id.slice(c0.id.length), childId);
    const leafId: string = c1.child.value.leaf;
    assert.match(leafId.slice(c1.id.length), childId);
    const leaf = await s.registry.get(leafId);
    assert.deepEqual(leaf?.provenance.causedBy, { kind: "process", id: c1.id });
    assert.deepEqual(leaf?.provenance.ownerScope, { sessionId: "sess-chain", agentFrameId: "f1" });
    assert.equal(leaf?.status, "completed");
  });

  it("std.fanout of 50 children returns every result in input order", async () => {
    const children = Array.from({ length: 50 }, (_, i) => ({ type: "tool_call", call: { tool: "std.echo", args: { value: i } } }));
    await start(registration("fan", tool("std.fanout", { children })));
    const out = await result("fan");
    assert.deepEqual(out, { type: "success", value: { results: Array.from({ length: 50 }, (_, i) => ({ type: "success", value: i })) } });
    const kids = await s.registry.list({ sessionId: "s1", limit: 1000 });
    assert.equal(kids.items.filter((r) => r.id.startsWith("fan.") && r.status === "completed").length, 50);
    assert.ok(kids.items.filter((r) => r.id.startsWith("fan.")).every((r) => /^fan\.\d+$/.test(r.id)));
  });
});
