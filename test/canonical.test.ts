import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { canonicalJson, registrationHash } from "../src/model/canonical.ts";

/** The definition every stored registration hash was computed with: JSON of a key-sorted, prototype-free copy. */
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v === null || typeof v !== "object") return v;
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(v).sort()) {
      const child = (v as Record<string, unknown>)[key];
      if (child !== undefined) out[key] = sortKeys(child);
    }
    return out;
  };
  return JSON.stringify(sortKeys(value));
}

it("canonicalJson is byte-identical to the reference definition (stored hashes stay valid)", () => {
  const odd = { withObjectString: true, withNullPrototype: true, withDate: true, withMap: true, withSparseArray: true, withBoxedValues: true };
  fc.assert(
    fc.property(fc.anything(odd), (v) => reference(v) === canonicalJson(v)),
    { numRuns: 5_000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (v) => reference(v) === canonicalJson(v)),
    { numRuns: 5_000 },
  );
  const edge = [{ "": 1, "10": 2, "9": 3, b: [undefined, () => 1], c: undefined }, JSON.parse('{"__proto__": {"x": 1}}') as unknown, [1, undefined, 3]];
  for (const v of edge) assert.equal(canonicalJson(v), reference(v));
  // Key order never changes a registration hash.
  assert.equal(
    registrationHash({ id: "p-1", input: { type: "tool_call", call: { tool: "std.echo", args: { value: 1 } } } }),
    registrationHash({ input: { call: { args: { value: 1 }, tool: "std.echo" }, type: "tool_call" }, id: "p-1" }),
  );
});
