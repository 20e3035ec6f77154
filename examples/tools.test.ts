import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { createTestEnvironment, type TestEnvironment } from "lash-processes/testing";
import { accounting, add } from "./tools.ts";

let env: TestEnvironment;
before(async () => {
  env = await createTestEnvironment({ plugins: [accounting] });
});
after(() => env.teardown());

it("adds, and survives an endpoint crash", async () => {
  const handle = await env.client.start(add, { a: 1, b: 2 });
  await env.killEndpoint();
  await env.restartEndpoint();
  assert.deepEqual(await handle.result(), { type: "success", value: { sum: 3 } });
});
