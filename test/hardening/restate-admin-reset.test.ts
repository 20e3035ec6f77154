/**
 * Recovery talks to Restate over kept-alive HTTP/1.1 connections (`RestateAdmin`). A server
 * (or a load balancer in front of it) may close an idle one just as a call is sent on it: that
 * call is sent once more on a new connection; a reset of the retry too is reported as
 * `unreachable`. A real restate-server, behind a TCP relay in this test that resets a
 * connection with a TCP RST the moment a second request arrives on it.
 */
import assert from "node:assert/strict";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { isLashError } from "../../src/model/index.ts";
import { RestateAdmin } from "../../src/services/restate-admin.ts";
import { adminQuery, startRestateServer, waitFor, type RestateServer } from "../support/restate-server.ts";

/** A TCP relay to `target` that can reset client connections; counts what it did. */
interface ResettingRelay {
  url: string;
  connections: number;
  resets: number;
  /** `reused`: reset a connection when a request comes after it has answered one; `all`: reset every request. */
  mode: "none" | "reused" | "all";
  close(): Promise<void>;
}

async function startRelay(target: URL): Promise<ResettingRelay> {
  const sockets = new Set<Socket>();
  const relay: ResettingRelay = { url: "", connections: 0, resets: 0, mode: "none", close: async () => {} };
  const server: Server = createServer((client) => {
    relay.connections += 1;
    let answered = false;
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    upstream.on("data", (chunk) => {
      answered = true;
      client.write(chunk);
    });
    client.on("data", (chunk) => {
      if (relay.mode === "all" || (relay.mode === "reused" && answered)) {
        relay.resets += 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  relay.url = `http://127.0.0.1:${port}`;
  relay.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return relay;
}

describe("RestateAdmin and a kept-alive connection reset under it", () => {
  let restate: RestateServer;
  let relay: ResettingRelay;
  before(async () => {
    restate = await startRestateServer();
    // A fresh server answers queries once its partitions have leaders.
    await waitFor(
      () =>
        adminQuery(restate.adminUrl, "SELECT id FROM sys_invocation LIMIT 1").then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 30_000,
        what: "restate-server answering admin queries",
      },
    );
    relay = await startRelay(new URL(restate.adminUrl));
  });
  after(async () => {
    await relay?.close();
    await restate?.stop();
  });

  /** A quiet moment, so the agent has put the answered connection back in its pool. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it("sends the call once more on a new connection", async () => {
    const admin = new RestateAdmin({ adminUrl: relay.url, ingressUrl: restate.ingressUrl });
    relay.mode = "none";
    assert.equal((await admin.runInvocations(["reset-a"])).size, 0);
    assert.equal(relay.connections, 1);
    await settle();
    relay.mode = "reused";
    assert.equal((await admin.runInvocations(["reset-b"])).size, 0, "answered by Restate after the retry");
    assert.equal(relay.resets, 1, "the kept-alive connection was reset once");
    assert.equal(relay.connections, 2, "the retry opened a new connection");
  });

  it("reports a reset of the retry as unreachable", async () => {
    const admin = new RestateAdmin({ adminUrl: relay.url, ingressUrl: restate.ingressUrl });
    relay.mode = "none";
    await admin.runInvocations(["reset-c"]);
    await settle();
    const before = { connections: relay.connections, resets: relay.resets };
    relay.mode = "all";
    await assert.rejects(admin.runInvocations(["reset-d"]), (err: unknown) => {
      assert.ok(isLashError(err, "unreachable"), `expected unreachable, got ${String(err)}`);
      assert.match((err as Error).message, /unreachable: .*(ECONNRESET|socket hang up)/);
      return true;
    });
    assert.equal(relay.resets - before.resets, 2, "the kept-alive connection and the retry's new one");
    assert.equal(relay.connections - before.connections, 1, "one retry, not more");
  });
});
