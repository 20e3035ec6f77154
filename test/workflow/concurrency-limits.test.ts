import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { LashProcessClient } from "../../src/client/lash-process-client.ts";
import { definePlugin, defineTool } from "../../src/runtime/plugin.ts";
import { waitFor } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";

/** A tool whose definition carries the limit; it waits for a `go` signal. */
const gated = defineTool({
  name: "test.gated",
  args: z.object({}),
  maxConcurrent: 1,
  async run(ctx) {
    const got = await ctx.waitFor("go");
    return got.timedOut ? null : got.payload;
  },
});

describe("concurrency limits", () => {
  let s: LashStack;
  let client: LashProcessClient;
  before(async () => {
    s = await startLashStack({
      plugins: [definePlugin({ name: "limits-test", tools: [gated] })],
      limits: { byName: { "std.wait_signal": 2, "std.fail": 1 }, session: 2 },
    });
    client = new LashProcessClient({ ingressUrl: s.ingress });
  });
  after(async () => s?.close());

  const start = async (id: string, input: unknown, extra: Record<string, unknown> = {}) => {
    const res = await s.post("/LashProcesses/start", { registration: registration(id, input, extra) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const status = async (id: string) => (await s.registry.get(id))?.status;
  /** On a timeout, says where the process and the tools' limiters stood. */
  const waitStatus = async (id: string, want: string) => {
    try {
      await waitFor(async () => (await status(id)) === want, { timeoutMs: 30_000, what: `${id} ${want}` });
    } catch (err) {
      const limiters = await Promise.all(
        ["tool:std.wait_signal", "tool:test.gated"].map(
          async (key) => `${key} ${JSON.stringify((await s.post(`/LashConcurrencyLimiter/${key}/status`)).body)}`,
        ),
      );
      const state = `${id} is ${await status(id)} with events ${JSON.stringify(await types(id))}; limiters ${limiters.join(", ")}`;
      throw new Error(`${(err as Error).message}; ${state}`, { cause: err });
    }
  };
  const result = async (id: string) => (await s.post(`/LashProcessWorkflow/${id}/awaitTerminal`)).body;
  const signal = (id: string, name = "go") => s.post(`/LashProcessWorkflow/${id}/signal`, { name, payload: id });
  const types = async (id: string) => (await s.registry.eventsAfter(id, 0)).map((e) => e.type);
  const waitSignal = tool("std.wait_signal", { name: "go" });
  /** The release is a one-way send after the outcome is written: it lands shortly after `awaitTerminal` answers. */
  const released = (key: string) =>
    waitFor(
      async () => JSON.stringify((await s.post(`/LashConcurrencyLimiter/${key}/status`)).body) === JSON.stringify({ limit: 0, holders: [], queued: [] }),
      {
        timeoutMs: 30_000,
        what: `every slot of ${key} released`,
      },
    );
  const session = (sessionId: string) => ({ provenance: { ownerScope: { sessionId }, hostProfileId: "" } });

  it("LASH_MAX_CONCURRENT-style limits queue the excess in FIFO order, visible in list and the client; a queued process can be cancelled", async () => {
    // FIFO is the order runs reach the limiter. `start` answers once the run is sent, so runs started
    // back to back may reach it in another order (a busy machine showed w3 before w1): each start
    // waits until its run holds a slot or is queued.
    for (const id of ["w1", "w2"]) {
      await start(id, waitSignal, session(`own-${id}`));
      await waitStatus(id, "waiting");
    }
    for (const id of ["w3", "w4", "w5"]) {
      await start(id, waitSignal, session(`own-${id}`));
      await waitStatus(id, "queued");
    }
    assert.deepEqual(await types("w3"), ["process.started"], "a queued process's run has started; its body has not");
    const queued = await client.list({ status: "queued" });
    assert.deepEqual(
      queued.items.map((r) => r.id),
      ["w3", "w4", "w5"],
    );
    assert.equal((await client.get("w4")).status, "queued");
    const limiter = await s.post("/LashConcurrencyLimiter/tool:std.wait_signal/status");
    assert.deepEqual(limiter.body, { limit: 2, holders: ["w1", "w2"], queued: ["w3", "w4", "w5"] });

    // Cancel w4 while queued: the body never runs, its place is given up.
    const cancel = await s.post("/LashProcessWorkflow/w4/cancel", { reason: "not needed" });
    assert.equal(cancel.status, 200);
    const w4 = await result("w4");
    assert.equal(w4.type, "cancelled");
    assert.equal(w4.reason, "not needed");
    assert.deepEqual(await types("w4"), ["process.started", "process.cancel_requested", "process.cancelled"], "the body never ran");

    // w1 ends -> w3 (the head of the queue) starts, not w5.
    await signal("w1");
    assert.equal((await result("w1")).type, "success");
    await waitStatus("w3", "waiting");
    assert.equal(await status("w5"), "queued");
    await signal("w2");
    await waitStatus("w5", "waiting");
    await signal("w3");
    await signal("w5");
    for (const id of ["w2", "w3", "w5"]) assert.equal((await result(id)).type, "success");
    await released("tool:std.wait_signal");
  });

  it("a definition's maxConcurrent limits its tool; a cancel of the holder frees its slot for the next", async () => {
    await start("g1", tool("test.gated", {}), session("g-a"));
    await waitStatus("g1", "waiting");
    await start("g2", tool("test.gated", {}), session("g-b"));
    await waitStatus("g2", "queued");
    // g1 ends by cancel (another terminal path): g2 gets the slot.
    await s.post("/LashProcessWorkflow/g1/cancel", {});
    assert.equal((await result("g1")).type, "cancelled");
    await waitStatus("g2", "waiting");
    await signal("g2");
    assert.deepEqual(await result("g2"), { type: "success", value: "g2" });
  });

  it("a failure releases its slot like a success: back-to-back failing processes under a limit of 1 all end", async () => {
    const ids = ["f1", "f2", "f3"];
    for (const id of ids) await start(id, tool("std.fail", { code: "boom", message: id }), session(`f-${id}`));
    for (const id of ids) assert.equal((await result(id)).type, "failure");
    await released("tool:std.fail");
  });

  it("session=N counts a session's top-level processes; children run on their parent's slot", async () => {
    const sess = session("busy");
    await start("s1", waitSignal, { ...sess });
    await start("s2", tool("std.fanout", { children: [tool("std.echo", { value: 1 }), tool("std.echo", { value: 2 })] }), { ...sess });
    assert.equal((await result("s2")).type, "success", "the fan-out's children were not queued behind their parent");
    await start("s3", tool("std.echo", { value: 3 }), { ...sess });
    await start("s4", tool("std.echo", { value: 4 }), { ...sess });
    // s1 holds one slot; s3 takes the other; s4 waits for s3 (echo ends at once) or s1.
    assert.equal((await result("s3")).type, "success");
    assert.equal((await result("s4")).type, "success");
    await signal("s1");
    assert.equal((await result("s1")).type, "success");
  });
});
