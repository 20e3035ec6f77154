/**
 * The off-loop schema checker on its own (the registry conformance suite, the hardening
 * and session-turn tests drive it through appends and turns): which schemas go to it,
 * and a flood of slow checks answering `busy` instead of queueing without bound.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Limits } from "../src/model/index.ts";
import { checkOffLoop } from "../src/registry/schema-checker.ts";
import { runsRegexes } from "../src/registry/schema-eval.ts";

describe("the off-loop schema checker", () => {
  it("takes the schemas that run regular expressions anywhere in them, and only those", () => {
    const offLoop = [
      { type: "string", pattern: "^a$" },
      { type: "object", patternProperties: { "^x-": {} } },
      { type: "array", items: { properties: { id: { pattern: "[0-9]+" } } } },
      { $defs: { id: { type: "string", pattern: "^[a-z]+$" } }, $ref: "#/$defs/id" },
      { anyOf: [{ type: "number" }, { type: "string", format: "url" }] },
      { type: "string", format: "uri-reference" },
    ];
    const inPlace = [
      { type: "object", properties: { pct: { type: "number", minimum: 0 } } },
      { type: "string", format: "date-time" },
      { type: "string", format: "email" },
      { type: "object", properties: { pattern: { type: "string" } } }, // a property named "pattern"
      {},
    ];
    for (const schema of offLoop) assert.equal(runsRegexes(schema), true, JSON.stringify(schema));
    for (const schema of inPlace) assert.equal(runsRegexes(schema), false, JSON.stringify(schema));
  });

  it(`a check that waited over ${Limits.schemaCheckWaitMs} ms behind slow ones answers busy; the checker then recovers`, async () => {
    const slow = { type: "string", pattern: "^\\w*\\w*\\w*!$" };
    const n = Math.ceil(Limits.schemaCheckWaitMs / Limits.schemaCheckTimeMs) + 3;
    const start = performance.now();
    const verdicts = await Promise.all(Array.from({ length: n }, () => checkOffLoop("slow", slow, "a".repeat(3000))));
    const ms = performance.now() - start;
    const kinds = verdicts.map((v) => v.kind);
    assert.deepEqual(kinds.slice(0, n - 5), Array<string>(n - 5).fill("timeout"), kinds.join(","));
    assert.deepEqual(kinds.slice(-2), ["busy", "busy"], kinds.join(","));
    assert.ok(ms < Limits.schemaCheckWaitMs + 2 * Limits.schemaCheckTimeMs + 3000, `all answered in ${Math.round(ms)} ms`);
    assert.deepEqual(await checkOffLoop("slow", slow, "fine!"), { kind: "valid" });
    assert.deepEqual(await checkOffLoop(undefined, slow, "no"), { kind: "invalid", location: "", error: "String does not match pattern." });
  });
});
