import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every depth, so key order never changes a hash.
 * Written out directly (no sorted copy of the value): it runs on every registration.
 * Output is exactly `JSON.stringify` of a copy with sorted keys, where every object is
 * a plain record of its own enumerable keys (so `__proto__` is an ordinary key and a
 * `toJSON` method is not called); stored hashes depend on that.
 */
export function canonicalJson(value: unknown): string {
  return write(value) as string;
}

/** The JSON text of `value`, or `undefined` where `JSON.stringify` omits it (undefined, a function, a symbol). */
function write(value: unknown): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "bigint": // throws, as JSON.stringify does
      return JSON.stringify(value);
    case "object":
      break;
    default:
      return undefined;
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + (write(value[i]) ?? "null");
    return out + "]";
  }
  const record = value as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const key of canonicalKeyOrder(Object.keys(record))) {
    const text = write(record[key]);
    if (text === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(key) + ":" + text;
    first = false;
  }
  return out + "}";
}

/**
 * Sorted keys, in the order a JS object built in that order lists them: array-index keys
 * ("0", "17") first in numeric order, then the rest sorted. The hash has always been the
 * JSON of such an object, so this order is part of every stored registration hash.
 */
function canonicalKeyOrder(keys: string[]): string[] {
  keys.sort();
  if (!keys.some(isArrayIndex)) return keys;
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((k) => !isArrayIndex(k))];
}

function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4294967295;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The identity of a registration's content: SHA-256 of its canonical JSON. */
export function registrationHash(registration: object): string {
  return sha256Hex(canonicalJson(registration));
}
