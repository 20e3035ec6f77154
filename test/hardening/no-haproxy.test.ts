/**
 * On a machine without HAProxy the multi-worker tests fail at once with the install
 * hint, instead of hanging (they once held `npm test` for ten minutes with an endpoint
 * left running). Simulated by pointing the lookup at a program that does not exist.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { haproxyBinary } from "../support/haproxy.ts";
import { REPO_ROOT } from "../support/restate-server.ts";

const MISSING = "/nonexistent/lash-test/haproxy";

describe("without HAProxy", () => {
  it("the lookup says how to install it", () => {
    assert.throws(() => haproxyBinary({ LASH_TEST_HAPROXY: MISSING }), /haproxy not found.*apt-get install -y haproxy/);
  });

  for (const file of ["test/multi-worker/rolling-upgrade.test.ts", "test/multi-worker/failover.test.ts"]) {
    it(`${file} fails fast with the install hint and leaves nothing running`, { timeout: 180_000 }, async () => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.NODE_TEST_CONTEXT; // else node:test refuses to run a file from inside a test
      const child = spawn(process.execPath, ["--test", "--test-concurrency=1", file], {
        cwd: REPO_ROOT,
        env: {
          ...env,
          LASH_TEST_HAPROXY: MISSING,
          PATH: (process.env.PATH ?? "")
            .split(":")
            .filter((d) => !/sbin/.test(d))
            .join(":"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      const [code] = await new Promise<[number | null, string | null]>((resolve) => child.once("exit", (...args) => resolve(args)));
      clearTimeout(timer);
      assert.notEqual(code, 0, output);
      assert.notEqual(code, null, `killed after 120 s: the test hung\n${output.slice(-3000)}`);
      assert.match(output, /haproxy not found.*apt-get install -y haproxy/);
      // Nothing it could have started (restate-server, an endpoint) is left behind.
      assert.doesNotMatch(output, /is still running/);
    });
  }
});
