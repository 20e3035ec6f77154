import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { journalOf } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";

/** A scripted HTTP server standing in for a remote API: records each request. */
async function scriptedServer(handle: (path: string, res: import("node:http").ServerResponse) => void) {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    handle(req.url ?? "", res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("std tools are gated, and std.http reaches only what it is allowed to", () => {
  let off: LashStack;
  let on: LashStack;
  let api: Awaited<ReturnType<typeof scriptedServer>>;
  before(async () => {
    api = await scriptedServer((path, res) => {
      if (path === "/to-private") {
        res.writeHead(302, { location: `http://127.0.0.1:${api.port}/secret-admin` }).end();
      } else if (path === "/big") {
        res.writeHead(200).end("x".repeat(200 * 1024));
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end("hello");
      }
    });
    off = await startLashStack();
    // `localhost` may be reached (it is listed); 127.0.0.1 may not, although it is the same machine.
    on = await startLashStack({ enableTestTools: true, httpAllow: ["localhost"] });
  });
  after(async () => {
    await off?.close();
    await on?.close();
    await api?.close();
  });

  const run = async (s: LashStack, id: string, input: unknown) =>
    (await s.post(`/LashProcessWorkflow/${id}/run`, { registration: registration(id, input) })).body;

  it("std.steps is permission_denied unless LASH_ENABLE_TEST_TOOLS, before it writes anything", async () => {
    const file = join(off.dir, "steps.txt");
    const out = await run(off, "steps-off", tool("std.steps", { count: 2, file }));
    assert.equal(out.type, "failure");
    assert.equal(out.class, "permission_denied");
    assert.equal(out.code, "test_tools_disabled");
    assert.equal(existsSync(file), false);
  });

  it("std.steps into a missing directory fails at once as a permanent io failure (no retries)", async () => {
    const out = await run(on, "steps-enoent", tool("std.steps", { count: 1, file: join(on.dir, "no-such-dir", "steps.txt") }));
    assert.equal(out.type, "failure", JSON.stringify(out));
    assert.equal(out.class, "io");
    assert.equal(out.code, "steps_file_unwritable");
  });

  it("std.http refuses loopback (Restate's admin API among them) unless the host is listed", async () => {
    const admin = new URL(on.admin);
    const toAdmin = await run(on, "http-admin", tool("std.http", { url: `http://127.0.0.1:${admin.port}/deployments`, timeoutMs: 20_000 }));
    assert.equal(toAdmin.class, "permission_denied", JSON.stringify(toAdmin));
    assert.equal(toAdmin.code, "http_address_refused");
    const before = api.seen.length;
    const refused = await run(off, "http-loopback", tool("std.http", { url: `http://localhost:${api.port}/` }));
    assert.equal(refused.code, "http_address_refused");
    assert.equal(api.seen.length, before, "the request never left");
    const allowed = await run(on, "http-allowed", tool("std.http", { url: `http://localhost:${api.port}/` }));
    assert.equal(allowed.type, "success", JSON.stringify(allowed));
    assert.equal(allowed.value.body, "hello");
  });

  it("a redirect to a host that is not allowed is refused before it is followed", async () => {
    const out = await run(on, "http-redirect", tool("std.http", { url: `http://localhost:${api.port}/to-private` }));
    assert.equal(out.code, "http_address_refused", JSON.stringify(out));
    assert.equal(
      api.seen.some((r) => r.path === "/secret-admin"),
      false,
    );
  });

  it("a response over the cap fails with resource_limit", async () => {
    const out = await run(on, "http-big", tool("std.http", { url: `http://localhost:${api.port}/big` }));
    assert.equal(out.class, "resource_limit", JSON.stringify(out).slice(0, 300));
  });

  it("secrets: $env header references are resolved inside the step; step names and reads carry no argument values", async () => {
    process.env.LASH_TEST_HTTP_SECRET = "s3cr3t-value";
    const args = {
      url: `http://localhost:${api.port}/hook?token=url-token-123`,
      headers: { authorization: { $env: "LASH_TEST_HTTP_SECRET" }, "x-api-key": "literal-key-456", accept: "text/plain" },
    };
    const out = await run(on, "http-secret", tool("std.http", args));
    assert.equal(out.type, "success", JSON.stringify(out));
    const hit = api.seen.find((r) => r.path.startsWith("/hook"))!;
    assert.equal(hit.headers.authorization, "s3cr3t-value");
    assert.equal(hit.headers["x-api-key"], "literal-key-456");

    const journal = await journalOf(on.admin, { key: "http-secret" });
    const names = journal.map((e) => e.name ?? "").join(" | ");
    assert.match(names, /http GET/);
    assert.doesNotMatch(names, /url-token-123|localhost/);
    assert.doesNotMatch(JSON.stringify(journal), /s3cr3t-value/);

    const row = await on.registry.get("http-secret");
    assert.doesNotMatch(JSON.stringify(row), /s3cr3t-value/, "the stored registration holds the reference, not the secret");
    for (const read of [
      (await on.post("/LashProcesses/get", { id: "http-secret" })).body,
      (await on.post("/LashProcessWorkflow/http-secret/status")).body,
      (await on.post("/LashProcesses/list", { sessionId: "s1", limit: 1000 })).body.items.find((r: { id: string }) => r.id === "http-secret"),
    ]) {
      assert.equal(read.input.call.args.headers["x-api-key"], "[redacted]");
      assert.deepEqual(read.input.call.args.headers.authorization, { $env: "LASH_TEST_HTTP_SECRET" });
      assert.equal(read.input.call.args.headers.accept, "text/plain");
    }
  });
});
