/**
 * LashProcessClient against a real restate-server with the lash services
 * in-process: results, events (paged and followed), signals, cancellation,
 * listing, recovery, and every error code a caller branches on.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LashClientError, LashProcessClient, type ProcessHandle } from "../src/client/index.ts";
import type { ProcessRegistrationInput } from "../src/model/index.ts";
import { freePort } from "./support/ports.ts";
import { startRestateServer } from "./support/restate-server.ts";
import { startLashStack, type LashStack } from "./support/lash-stack.ts";

const reg = (id: string, input: ProcessRegistrationInput["input"], sessionId = "client-s1"): ProcessRegistrationInput => ({
  id,
  input,
  provenance: { ownerScope: { sessionId }, hostProfileId: "" },
});
const tool = (name: string, args: unknown): ProcessRegistrationInput["input"] => ({ type: "tool_call", call: { tool: name, args } });

async function rejects(promise: Promise<unknown>, expected: { code: string; field?: string; status?: number; message?: RegExp }) {
  const err = await promise.then(
    () => assert.fail(`expected a LashClientError ${expected.code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LashClientError, `not a LashClientError: ${String(err)}`);
  assert.equal(err.code, expected.code, err.message);
  if ("field" in expected) assert.equal(err.field, expected.field, err.message);
  if (expected.status !== undefined) assert.equal(err.status, expected.status);
  if (expected.message) assert.match(err.message, expected.message);
  return err;
}

async function collect(handle: ProcessHandle, opts: Parameters<ProcessHandle["events"]>[0] = {}) {
  const events = [];
  for await (const event of handle.events(opts)) events.push(event);
  return events;
}

describe("LashProcessClient", { timeout: 90_000 }, () => {
  let s: LashStack;
  let client: LashProcessClient;
  before(async () => {
    s = await startLashStack();
    client = new LashProcessClient({ ingressUrl: s.ingress });
  });
  after(async () => s?.close());

  it("starts a tool call, attaches to its result and reads the row and its events", async () => {
    const handle = await client.start(reg("c-echo", tool("std.echo", { value: { n: 1 } })));
    assert.equal(handle.id, "c-echo");
    assert.equal(handle.started?.status, "pending");
    assert.match(handle.started?.invocationId ?? "", /^inv_/);
    assert.deepEqual(await handle.result(), { type: "success", value: { n: 1 } });

    const record = await client.get("c-echo");
    assert.equal(record.status, "completed");
    assert.deepEqual(record.outcome, { type: "success", value: { n: 1 } });
    assert.deepEqual((await handle.status()).registrationHash, record.registrationHash);

    const events = await collect(handle);
    assert.deepEqual(
      events.map((e) => [e.sequence, e.type]),
      [
        [1, "process.started"],
        [2, "process.completed"],
      ],
    );
    assert.deepEqual(
      (await collect(handle, { after: 1 })).map((e) => e.sequence),
      [2],
    );

    // Starting the same registration again is idempotent; the handle reports the current status.
    const again = await client.start(reg("c-echo", tool("std.echo", { value: { n: 1 } })));
    assert.equal(again.started?.status, "completed");
  });

  it("follows events until the terminal one while signals arrive, and result() of a handle by id", async () => {
    await client.start(reg("c-wait", tool("std.wait_signal", { name: "go", count: 2 })));
    const handle = client.handle("c-wait");
    const followed = handle.events({ follow: true });
    const first = await followed.next();
    assert.equal(first.value?.type, "process.started");
    assert.deepEqual(await handle.signal("go", { n: 1 }), { sequence: 2 });
    assert.deepEqual(await handle.signal("go", { n: 2 }), { sequence: 3 });
    const rest = [];
    for await (const event of followed) rest.push(event);
    assert.deepEqual(
      rest.map((e) => [e.sequence, e.type]),
      [
        [2, "signal.go"],
        [3, "signal.go"],
        [4, "process.completed"],
      ],
    );
    assert.deepEqual(rest[0]?.payload, { n: 1 });
    assert.deepEqual(await handle.result(), { type: "success", value: { payloads: [{ n: 1 }, { n: 2 }] } });
  });

  it("reports failures as results, not errors", async () => {
    const handle = await client.start(reg("c-fail", tool("std.fail", { class: "io", code: "disk_full", message: "no space" })));
    assert.deepEqual(await handle.result(), { type: "failure", class: "io", code: "disk_full", message: "no space" });
    assert.equal((await client.get("c-fail")).status, "failed");
  });

  it("cancels a running process without and with a reason; cancelling again is a no-op", async () => {
    const quiet = await client.start(reg("c-cancel-1", tool("std.sleep", { ms: 60_000 })));
    assert.deepEqual(await quiet.cancel(), { accepted: true, alreadyTerminal: false });
    assert.equal((await quiet.result()).type, "cancelled");
    assert.deepEqual(await quiet.cancel(), { accepted: false, alreadyTerminal: true });

    const loud = await client.start(reg("c-cancel-2", tool("std.sleep", { ms: 60_000 })));
    assert.deepEqual(await loud.cancel("user changed their mind"), { accepted: true, alreadyTerminal: false });
    const out = await loud.result();
    assert.equal(out.type, "cancelled");
    assert.equal(out.type === "cancelled" ? out.reason : undefined, "user changed their mind");
  });

  it("lists with filters and pages with a cursor", async () => {
    for (const n of [1, 2, 3]) await (await client.start(reg(`c-list-${n}`, tool("std.echo", { value: n }), "client-list"))).result();
    const all = await client.list({ sessionId: "client-list" });
    assert.deepEqual(
      all.items.map((r) => r.id),
      ["c-list-1", "c-list-2", "c-list-3"],
    );
    const first = await client.list({ sessionId: "client-list", limit: 2 });
    assert.equal(first.items.length, 2);
    assert.ok(first.nextCursor, "a first page of 2 out of 3 has a cursor");
    const second = await client.list({ sessionId: "client-list", limit: 2, cursor: first.nextCursor });
    assert.deepEqual([...first.items, ...second.items].map((r) => r.id).sort(), ["c-list-1", "c-list-2", "c-list-3"]);
    assert.ok((await client.list({ status: "failed" })).items.some((r) => r.id === "c-fail"));
    assert.ok((await client.list()).items.length >= 5);
  });

  it("runs a recovery sweep that submits a row nobody ran, and schedules one", async () => {
    // A row registered without its run (a host that crashed between the two): only a sweep starts it.
    await s.registry.register(reg("c-orphan", tool("std.echo", { value: "recovered" })));
    const report = await client.recovery().sweep();
    assert.ok(report.scanned >= 1 && report.submitted >= 1, JSON.stringify(report));
    assert.deepEqual(report.failed, []);
    assert.deepEqual(await client.handle("c-orphan").result(), { type: "success", value: "recovered" });
    assert.deepEqual(await client.recovery().schedule(60_000), { everyMs: 60_000, generation: 1 });
    assert.deepEqual(await client.recovery().unschedule(), { scheduled: false });
  });

  it("types every error: conflict, not found, invalid input with its field", async () => {
    await rejects(client.start(reg("c-echo", tool("std.echo", { value: "other" }))), { code: "registration_conflict", status: 409 });
    await rejects(client.get("c-missing"), { code: "not_found", status: 404, message: /c-missing/ });
    await rejects(client.handle("c-missing").result(), { code: "not_found" });
    await rejects(client.handle("c-missing").signal("go"), { code: "not_found", status: 404 });
    await rejects(collect(client.handle("c-missing")), { code: "not_found" });
    // Checked before any request: an id is a URL path segment.
    await rejects(client.start(reg("bad id!", tool("std.echo", { value: 1 }))), { code: "invalid_input", field: "registration.id" });
    await rejects(client.get(""), { code: "invalid_input", field: "id" });
    // Schema failures at the server carry the JSON path of the field.
    const noProvenance = { id: "c-bad-1", input: tool("std.echo", { value: 1 }) } as unknown as ProcessRegistrationInput;
    await rejects(client.start(noProvenance), { code: "invalid_input", field: "registration.provenance", status: 400 });
    const badEvents = { ...reg("c-bad-2", tool("std.echo", { value: 1 })), eventTypes: [{ name: "process.mine" }] };
    await rejects(client.start(badEvents), { code: "invalid_input", field: "registration.eventTypes.0.name", status: 400 });
    // Plugin checks (LashError on the wire) name the field too.
    await rejects(client.start(reg("c-bad-3", tool("std.nope", {}))), {
      code: "invalid_input",
      field: "registration.input.call.tool",
      message: /unknown tool/,
    });
    await rejects(client.start(reg("c-bad-4", tool("std.sleep", { ms: "soon" }))), { code: "invalid_input", field: "registration.input.call.args.ms" });
    await rejects(client.handle("c-echo").complete({ type: "success", value: 1 }), { code: "not_external", status: 409 });
    assert.equal(await s.registry.get("c-bad-1"), undefined, "nothing is written for bad input");
  });

  it("says unreachable when nothing listens, and not_deployed when Restate lacks the lash services", async () => {
    const port = await freePort();
    const nobody = new LashProcessClient({ ingressUrl: `http://127.0.0.1:${port}` });
    await rejects(nobody.get("x"), { code: "unreachable", message: new RegExp(`127\\.0\\.0\\.1:${port}`) });
    const bare = await startRestateServer();
    try {
      await rejects(new LashProcessClient({ ingressUrl: bare.ingressUrl }).list(), { code: "not_deployed", status: 404 });
    } finally {
      await bare.stop();
    }
  });
});
