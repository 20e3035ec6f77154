import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";

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

  it("patternProperties and backreferences are checked too; ordinary patterns pass", async () => {
    const refused = await s.post("/LashProcesses/start", {
      registration: registration("redos-2", { type: "external" }, {
        eventTypes: [{ name: "e", payloadSchema: { type: "object", patternProperties: { "^(\\w+\\s?)*$": {} } } }, { name: "f", payloadSchema: { pattern: "(x)\\1" } }],
      }),
    });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /registration\.eventTypes\.0\.payloadSchema/);
    const fine = await s.post("/LashProcesses/start", {
      registration: registration("plain-pattern", { type: "external" }, { eventTypes: [{ name: "e", payloadSchema: { type: "string", pattern: "^[a-z]{1,8}-[0-9]+$" } }] }),
    });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
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
    assert.deepEqual(JSON.parse(JSON.stringify(record!.input)), { type: "tool_call", call: { tool: "std.echo", args: { value: JSON.parse('{"__proto__":{"n":1}}') } } });
    assert.equal(JSON.stringify(record!.input).includes('"__proto__":{"n":1}'), true);
  });
});
