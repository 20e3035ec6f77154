/**
 * Evaluating a value against a caller-supplied JSON Schema, the same way on the
 * event loop and in the schema checker's worker thread (`schema-check-worker.ts`).
 * Imports nothing but the validator, so the worker starts quickly.
 */
import { Validator } from "@cfworker/json-schema";

/** How an evaluation came out. `timeout` and `busy` come only from the off-loop checker (`schema-checker.ts`). */
export type SchemaVerdict =
  | { kind: "valid" }
  /** `location`: the dotted path inside the value of the first error, "" at the root. */
  | { kind: "invalid"; location: string; error: string }
  /** The validator threw (a schema registration screening did not catch), or the worker died evaluating it. */
  | { kind: "unevaluable"; reason: string }
  | { kind: "timeout"; limitMs: number }
  | { kind: "busy"; waitedMs: number };

/** A validator for a caller's schema (draft 2020-12, all errors collected). */
export function validatorFor(schema: object): Validator {
  return new Validator(schema, "2020-12", false);
}

/** What is known of one schema: whether it runs regular expressions, and (built on first use) its validator. */
export interface CachedSchema {
  runsRegexes: boolean;
  validator(): Validator;
}

/** Schemas by a caller's key (e.g. `<registration hash>/<event type>`); cleared when it grows past 1,000. */
export class SchemaCache {
  readonly #schemas = new Map<string, CachedSchema>();

  get(key: string, schema: object): CachedSchema {
    let cached = this.#schemas.get(key);
    if (cached === undefined) {
      if (this.#schemas.size > 1000) this.#schemas.clear();
      let validator: Validator | undefined;
      cached = { runsRegexes: runsRegexes(schema), validator: () => (validator ??= validatorFor(schema)) };
      this.#schemas.set(key, cached);
    }
    return cached;
  }
}

/** Evaluates synchronously: only for schemas without regular expressions (`runsRegexes`), or off the loop. */
export function evaluate(validator: Validator, value: unknown): SchemaVerdict {
  let result: ReturnType<Validator["validate"]>;
  try {
    result = validator.validate(value);
  } catch (err) {
    return { kind: "unevaluable", reason: err instanceof Error ? err.message : String(err) };
  }
  if (result.valid) return { kind: "valid" };
  const first = result.errors.find((e) => e.instanceLocation !== "#") ?? result.errors[0];
  return {
    kind: "invalid",
    location: first?.instanceLocation.replace(/^#\/?/, "").replaceAll("/", ".") ?? "",
    error: first?.error ?? "does not match",
  };
}

/**
 * Formats the validator checks with one of its own regular expressions that can
 * backtrack badly: `url` takes seconds on a 36-character string (and doubles per
 * character), `regex` compiles the value itself. The URI and JSON-pointer formats
 * are large expressions with overlapping pieces; they are treated the same way to be
 * safe. The others (date, time, email, hostname, ipv4/6, uuid, duration) are bounded
 * expressions, measured linear on 60,000-character adversarial strings.
 */
const BACKTRACKING_FORMATS = new Set([
  "url",
  "regex",
  "uri",
  "uri-reference",
  "uri-template",
  "json-pointer",
  "json-pointer-uri-fragment",
  "relative-json-pointer",
]);

/**
 * Whether evaluating `schema` can run a regular expression on the value: any
 * `pattern` or `patternProperties`, or a format in `BACKTRACKING_FORMATS`, anywhere
 * in it. Conservative (a `pattern` key inside `const` or `examples` counts too): a
 * schema that answers true is evaluated off the event loop, which is merely slower.
 */
export function runsRegexes(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(runsRegexes);
  if (schema === null || typeof schema !== "object") return false;
  const node = schema as Record<string, unknown>;
  if (typeof node.pattern === "string") return true;
  if (node.patternProperties !== null && typeof node.patternProperties === "object") return true;
  if (typeof node.format === "string" && BACKTRACKING_FORMATS.has(node.format)) return true;
  return Object.values(node).some(runsRegexes);
}
