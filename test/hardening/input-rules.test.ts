import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { readEnvConfig } from "../../src/config.ts";
import { Limits } from "../../src/model/index.ts";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";
import { waitFor } from "../support/restate-server.ts";

describe("input rules that keep the endpoint responsive and the data honest", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack();
  });
  after(async () => s?.close());

  it("a payloadSchema pattern that backtracks exponentially (^(a+)+$) is refused at registration, naming the field", async () => {
    const body = {
      registration: registration("redos", { type: "external" }, { eventTypes: [{ name: "e", payloadSchema: { type: "string", pattern: "^(a+)+$" } }] }),
    };
    const res = await s.post("/LashProcesses/start", body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.message, /registration\.eventTypes\.0\.payloadSchema: .*nests quantifiers/);
    assert.equal(await s.registry.get("redos"), undefined);
  });

  it("a repeated alternation of overlapping branches (^(a|aa)*$) is refused too; a repeated single-character alternation passes", async () => {
    const schema = (pattern: string) => ({ eventTypes: [{ name: "e", payloadSchema: { type: "string", pattern } }] });
    const refused = await s.post("/LashProcesses/start", { registration: registration("redos-alt", { type: "external" }, schema("^(a|aa)*$")) });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.body.message, /registration\.eventTypes\.0\.payloadSchema: .*repeats an alternation/);
    assert.equal(await s.registry.get("redos-alt"), undefined);
    const fine = await s.post("/LashProcesses/start", { registration: registration("alt-ok", { type: "external" }, schema("^(a|b)*$")) });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
  });

  it("patternProperties and backreferences are checked too; ordinary patterns pass", async () => {
    const refused = await s.post("/LashProcesses/start", {
      registration: registration(
        "redos-2",
        { type: "external" },
        {
          eventTypes: [
            { name: "e", payloadSchema: { type: "object", patternProperties: { "^(\\w+\\s?)*$": {} } } },
            { name: "f", payloadSchema: { pattern: "(x)\\1" } },
          ],
        },
      ),
    });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /registration\.eventTypes\.0\.payloadSchema/);
    const fine = await s.post("/LashProcesses/start", {
      registration: registration(
        "plain-pattern",
        { type: "external" },
        { eventTypes: [{ name: "e", payloadSchema: { type: "string", pattern: "^[a-z]{1,8}-[0-9]+$" } }] },
      ),
    });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
  });

  it("a pattern that backtracks polynomially passes registration; a signal it stalls on is a prompt 400 on event.payload and the endpoint keeps answering", async () => {
    const eventTypes = [{ name: "signal.text", payloadSchema: { type: "string", pattern: "^\\w*\\w*\\w*!$" } }];
    assert.equal((await s.post("/LashProcesses/start", { registration: registration("slow-re", { type: "external" }, { eventTypes }) })).status, 200);
    // Other requests while the payload is checked: each is answered promptly (before, the loop was blocked ~8 s).
    let checking = true;
    const latencies: number[] = [];
    const probe = (async () => {
      while (checking) {
        const start = performance.now();
        const res = await s.post("/LashProcesses/get", { id: "slow-re" });
        assert.equal(res.status, 200);
        latencies.push(performance.now() - start);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const start = performance.now();
    const res = await s.post("/LashProcessWorkflow/slow-re/signal", { name: "text", payload: "a".repeat(3000) }).finally(() => (checking = false));
    const ms = performance.now() - start;
    await probe;
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.message, new RegExp(`^event_payload_invalid: event\\.payload: .*took longer than ${Limits.schemaCheckTimeMs} ms`));
    assert.ok(ms < Limits.schemaCheckTimeMs + 9000, `answered in ${Math.round(ms)} ms`);
    assert.ok(latencies.length >= 3, `${latencies.length} other requests answered meanwhile`);
    assert.ok(Math.max(...latencies) < 1000, `other requests took up to ${Math.round(Math.max(...latencies))} ms`);
    const signals = async () => (await s.registry.eventsAfter("slow-re", 0)).filter((e) => e.type === "signal.text").map((e) => e.payload);
    assert.deepEqual(await signals(), []);
    // A payload the pattern matches is signalled as usual.
    assert.equal((await s.post("/LashProcessWorkflow/slow-re/signal", { name: "text", payload: "ok!" })).status, 200);
    assert.deepEqual(await signals(), ["ok!"]);
  });

  it("a __proto__ key is kept as data and counts in the content hash", async () => {
    const withProto = (n: number) =>
      `{"registration":{"id":"proto","input":{"type":"tool_call","call":{"tool":"std.echo","args":{"value":{"__proto__":{"n":${n}}}}}},` +
      `"provenance":{"ownerScope":{"sessionId":"s1"},"hostProfileId":""}}}`;
    assert.equal((await s.post("/LashProcesses/start", undefined, withProto(1))).status, 200);
    const conflict = await s.post("/LashProcesses/start", undefined, withProto(2));
    assert.equal(conflict.status, 409, JSON.stringify(conflict.body));
    assert.match(conflict.body.message, /^registration_conflict:/);
    const record = await s.registry.get("proto");
    assert.deepEqual(JSON.parse(JSON.stringify(record!.input)), {
      type: "tool_call",
      call: { tool: "std.echo", args: { value: JSON.parse('{"__proto__":{"n":1}}') } },
    });
    assert.equal(JSON.stringify(record!.input).includes('"__proto__":{"n":1}'), true);
  });

  it("list and events pages are cut by bytes (not only by count) and the caller continues from where the page ended", async () => {
    const big = "x".repeat(250 * 1024);
    const ids = Array.from({ length: 24 }, (_, i) => `big-${String(i).padStart(2, "0")}`);
    for (const id of ids) {
      await s.registry.register({
        ...registration(id, { type: "external" as const, metadata: { big } }),
        provenance: { ownerScope: { sessionId: "bulky" }, hostProfileId: "" },
      } as never);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await s.post("/LashProcesses/list", { sessionId: "bulky", limit: 1000, ...(cursor ? { cursor } : {}) });
      assert.equal(res.status, 200);
      assert.ok(JSON.stringify(res.body).length <= Limits.pageMaxBytes + 64 * 1024, "page within the byte bound");
      seen.push(...res.body.items.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 50);
    assert.ok(pages >= 2, `cut into ${pages} pages`);
    assert.deepEqual(seen, ids);

    await s.registry.register(registration("chatty", { type: "external" as const }) as never);
    const payload = "y".repeat(60 * 1024);
    for (let i = 0; i < 90; i++) await s.registry.appendEvent("chatty", { type: "signal.note", payload });
    const first = await s.post("/LashProcesses/events", { id: "chatty", after: 0, limit: 1000 });
    assert.equal(first.status, 200);
    const got = first.body.events.length;
    assert.ok(got > 0 && got < 90, `first page holds ${got} events`);
    const rest = await s.post("/LashProcesses/events", { id: "chatty", after: first.body.events.at(-1).sequence, limit: 1000 });
    assert.equal(got + rest.body.events.length, 90);
  });

  it("an invalid RESTATE_ADMIN_URL is reported without its credentials", () => {
    assert.throws(
      () => readEnvConfig({ RESTATE_ADMIN_URL: "htp://admin:hunter2@restate:9070" }),
      (err: Error) => /RESTATE_ADMIN_URL/.test(err.message) && !err.message.includes("hunter2") && !err.message.includes("admin:"),
    );
  });
});

describe("configured caps on state a caller can create", () => {
  let s: LashStack;
  before(async () => {
    s = await startLashStack({ caps: { eventsPerProcess: 12, processesPerSession: 3 } });
  });
  after(async () => s?.close());

  it("signals past the events-per-process cap are a 409 resource_limit and nothing is appended", async () => {
    assert.equal((await s.post("/LashProcesses/start", { registration: registration("capped", { type: "external" }) })).status, 200);
    let refused: { status: number; body: any } | undefined;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const res = await s.post("/LashProcessWorkflow/capped/signal", { name: "n", payload: i });
      if (res.status !== 200) refused = res;
    }
    assert.equal(refused?.status, 409, JSON.stringify(refused));
    assert.match(refused.body.message, /^resource_limit: .*LASH_MAX_EVENTS_PER_PROCESS/);
    const events = await s.registry.eventsAfter("capped", 0);
    assert.equal(events.length, 12);
    // The terminal outcome still lands.
    assert.equal((await s.post("/LashProcessWorkflow/capped/complete", { output: { type: "success", value: 1 } })).status, 200);
  });

  it("new processes past the per-session cap of live processes are a 409 resource_limit with no row; an existing id still answers", async () => {
    // Processes that stay live (waiting for a signal) until the end of the test.
    const reg = (id: string) => ({
      registration: {
        ...registration(id, tool("std.wait_signal", { name: "go" })),
        provenance: { ownerScope: { sessionId: "small" }, hostProfileId: "" },
      },
    });
    for (const id of ["c1", "c2", "c3"]) assert.equal((await s.post("/LashProcesses/start", reg(id))).status, 200);
    const over = await s.post("/LashProcesses/start", reg("c4"));
    assert.equal(over.status, 409, JSON.stringify(over.body));
    assert.match(over.body.message, /^resource_limit: session "small"/);
    assert.equal(await s.registry.get("c4"), undefined);
    const direct = await s.post("/LashProcessWorkflow/c5/run", reg("c5"));
    assert.equal(direct.status, 409);
    assert.equal(await s.registry.get("c5"), undefined);
    assert.equal((await s.post("/LashProcesses/start", reg("c1"))).status, 200, "an idempotent re-start is not a new process");
    // A finished process frees its place: c2 ends, then c6 may start.
    assert.equal((await s.post("/LashProcessWorkflow/c2/signal", { name: "go" })).status, 200);
    await waitFor(async () => (await s.registry.get("c2"))?.status === "completed", { timeoutMs: 30_000, what: "c2 completed" });
    assert.equal((await s.post("/LashProcesses/start", reg("c6"))).status, 200, "finished processes do not count");
  });

  it("a read the registry cannot answer is a prompt 503, not a retry loop (runs last: it closes the registry)", async () => {
    await s.registry.close();
    for (const [path, body] of [
      ["/LashProcesses/get", { id: "c1" }],
      ["/LashProcesses/list", { sessionId: "small" }],
      ["/LashProcesses/events", { id: "c1" }],
      ["/LashProcessWorkflow/c1/status", undefined],
    ] as const) {
      const res = await s.post(path, body);
      assert.equal(res.status, 503, `${path}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, /^unreachable: /);
    }
  });
});
