/**
 * lashctl where it used to surprise users: --version, --json usage errors, a
 * malformed --ingress, an answer that is not Restate's (admin API, proxy page),
 * a failure said in a sentence, and a suggestion for a mistyped command.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { lashctl } from "./cli-runner.ts";
import { REPO_ROOT, startRestateServer, type RestateServer } from "./support/restate-server.ts";

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

describe("lashctl usage", () => {
  let html: Server;
  let htmlUrl: string;
  let restate: RestateServer;
  before(async () => {
    // Stands in for a proxy in front of a dead upstream: a 502 HTML page.
    html = createServer((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    });
    await new Promise<void>((r) => html.listen(0, "127.0.0.1", r));
    htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
    restate = await startRestateServer();
  });
  after(async () => {
    await new Promise<void>((r) => html.close(() => r()));
    await restate?.stop();
  });

  it("--version prints the package version", async () => {
    const r = await lashctl(["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
    assert.deepEqual(JSON.parse((await lashctl(["--json", "--version"])).stdout), { version: VERSION });
  });

  it("--json also reports usage errors as JSON (exit 2)", async () => {
    const r = await lashctl(["--json", "start"]);
    assert.equal(r.code, 2);
    const parsed = JSON.parse(r.stderr.trim()) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, "usage");
    assert.match(parsed.error.message, /missing <tool>|missing/);
  });

  it("a malformed --ingress is a usage error (exit 2), not 'unreachable'", async () => {
    for (const bad of ["localhost:8080", "not a url", "ftp://127.0.0.1:8080"]) {
      const r = await lashctl(["--ingress", bad, "list"]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--ingress must be an http\(s\) URL/);
    }
  });

  it("an answer that is not Restate's exits 3 with a hint about the ingress", async () => {
    for (const url of [htmlUrl, restate.adminUrl]) {
      const r = await lashctl(["--ingress", url, "get", "some-id"]);
      assert.equal(r.code, 3, `${url}: ${r.stderr}`);
      assert.match(r.stderr, /not_restate/);
      assert.match(r.stderr, /is --ingress .* the ingress \(:8080\), not the admin API/);
    }
    const json = await lashctl(["--json", "--ingress", htmlUrl, "list"]);
    assert.equal(json.code, 3);
    assert.equal((JSON.parse(json.stderr.trim()) as { error: { code: string } }).error.code, "not_restate");
  });

  it("an unknown command suggests the nearest one", async () => {
    const r = await lashctl(["strat"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'strat' \(did you mean 'start'\?\)/);
    assert.doesNotMatch((await lashctl(["zzzzzzzz"])).stderr, /did you mean/);
  });

  it("lashctl dev failures are a sentence, not a stack trace", async () => {
    // The Restate above is used as is; the endpoint's port is taken (by that Restate's ingress), so dev stops with a sentence.
    const port = new URL(restate.ingressUrl).port;
    const env = { RESTATE_ADMIN_URL: restate.adminUrl, RESTATE_INGRESS_URL: restate.ingressUrl, PORT: port, LASH_DEV_DIR: join(restate.baseDir, "dev") };
    const r = await lashctl(["dev"], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^lashctl: port ${port} is taken; set PORT to a free port`, "m"));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack frames");
  });
});
