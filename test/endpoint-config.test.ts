import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startEndpointProcess, type EndpointProcess } from "./support/endpoint-process.ts";
import { REPO_ROOT, registerDeployment, startRestateServer, type RestateServer } from "./support/restate-server.ts";

describe("node src/main.ts configuration", () => {
  const runMain = (env: Record<string, string>) =>
    spawnSync(process.execPath, ["src/main.ts"], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: "utf8", timeout: 20_000 });

  for (const [variable, value] of [
    ["PORT", "not-a-port"],
    ["LASH_REGISTRY_URL", "mysql://nope"],
    ["LASH_WAKE_TARGET", "no-slash"],
    ["LASH_ENABLE_SHELL", "maybe"],
    ["RESTATE_ADMIN_URL", "ftp://x"],
  ] as const) {
    it(`refuses a bad ${variable} at start, naming the variable`, () => {
      const result = runMain({ [variable]: value, LASH_REGISTRY_URL: variable === "LASH_REGISTRY_URL" ? value : "memory:", LASH_DURABILITY: "inline" });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, new RegExp(variable === "LASH_REGISTRY_URL" ? "registryUrl|LASH_REGISTRY_URL" : variable));
    });
  }
});

describe("LASH_BIND_HOST", () => {
  let endpoint: EndpointProcess | undefined;
  after(async () => endpoint?.stop());

  it("binds only the interface it names", async () => {
    endpoint = await startEndpointProcess({
      entry: "src/main.ts",
      env: { LASH_BIND_HOST: "127.0.0.1", LASH_REGISTRY_URL: "memory:", LASH_DURABILITY: "inline", LASH_RECOVER_ON_START: "0" },
    });
    const reachable = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = netConnect({ host, port: endpoint!.port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      });
    assert.equal(await reachable("127.0.0.1"), true);
    assert.equal(await reachable("127.0.0.2"), false);
  });
});

/** Status of a plain (unsigned) HTTP/2 GET: the endpoint speaks h2c only. */
function h2Status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = connect(new URL(url).origin);
    session.on("error", reject);
    const req = session.request({ ":path": new URL(url).pathname, accept: "application/vnd.restate.endpointmanifest.v3+json" });
    req.on("response", (headers) => {
      resolve(Number(headers[":status"]));
      req.close();
      session.close();
    });
    req.on("error", reject);
    req.end();
  });
}

/** Restate's `publickeyv1_<base58(raw ed25519 public key)>` form. */
function publicKeyV1(spkiDer: Buffer): string {
  const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  let n = BigInt(`0x${spkiDer.subarray(-32).toString("hex")}`);
  let out = "";
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out;
    n /= 58n;
  }
  return `publickeyv1_${out}`;
}

describe("RESTATE_IDENTITY_KEYS: request signatures", () => {
  let dir: string;
  let restate: RestateServer;
  let endpoint: EndpointProcess;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lash-identity-"));
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const pem = join(dir, "private.pem");
    await writeFile(pem, privateKey.export({ type: "pkcs8", format: "pem" }));
    restate = await startRestateServer({ env: { RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE: pem } });
    endpoint = await startEndpointProcess({
      entry: "src/main.ts",
      env: {
        LASH_REGISTRY_URL: `sqlite:${join(dir, "registry.db")}`,
        LASH_RECOVER_ON_START: "0",
        RESTATE_IDENTITY_KEYS: publicKeyV1(publicKey.export({ type: "spki", format: "der" })),
      },
    });
  });
  after(async () => {
    await endpoint?.stop();
    await restate?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses an unsigned request and serves the signed ones from Restate", async () => {
    assert.equal(await h2Status(`${endpoint.url}/discover`), 401);
    await registerDeployment(restate.adminUrl, endpoint.url);
    const res = await fetch(`${restate.ingressUrl}/LashProcessWorkflow/signed/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        registration: {
          id: "signed",
          input: { type: "tool_call", call: { tool: "std.echo", args: { value: "ok" } } },
          provenance: { ownerScope: { sessionId: "s" }, hostProfileId: "" },
        },
      }),
    });
    assert.deepEqual(await res.json(), { type: "success", value: "ok" });
  });
});
