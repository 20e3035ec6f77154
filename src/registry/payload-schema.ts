/**
 * Checks that an event type's `payloadSchema` can actually be evaluated.
 *
 * `new Validator(schema)` accepts almost anything: a `$ref` that points nowhere or
 * a `pattern` that is not a regular expression only fails later, inside
 * `validate()`, as a plain `Error`. In `appendEvent` that would surface as an
 * untyped (hence retried) failure on every append of that type, so registration
 * refuses such schemas up front, using the same reference table the validator uses.
 */
import { dereference } from "@cfworker/json-schema";
import ret, { types, type Root, type Token } from "ret";
import safeRegex from "safe-regex2";

/** Longest `pattern` a payload schema may carry; together with the star-height check it bounds regex work. */
export const PATTERN_MAX_LENGTH = 512;

interface DereferencedNode {
  $ref?: unknown;
  pattern?: unknown;
  patternProperties?: unknown;
  /** Set (non-enumerable) by `dereference` on every subschema it visited. */
  __absolute_uri__?: string;
  /** Set (non-enumerable) by `dereference` on every subschema with a `$ref`. */
  __absolute_ref__?: string;
}

/** Why the schema cannot be evaluated, or `undefined` when it can. */
export function schemaProblem(schema: object): string | undefined {
  const copy = structuredClone(schema); // dereference annotates the objects it walks
  let lookup: Record<string, unknown>;
  try {
    lookup = dereference(copy);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  for (const node of subschemas(copy)) {
    if (node.__absolute_ref__ !== undefined && lookup[node.__absolute_ref__] === undefined) {
      return `$ref "${String(node.$ref)}" does not resolve inside the schema (external schemas are not loaded)`;
    }
    const patterns = [node.pattern, ...(isObject(node.patternProperties) ? Object.keys(node.patternProperties) : [])];
    for (const pattern of patterns) {
      if (typeof pattern !== "string") continue;
      if (!compiles(pattern)) return `pattern "${pattern}" is not a valid regular expression`;
      const risk = backtrackingRisk(pattern);
      if (risk !== undefined) return `pattern "${pattern.slice(0, 80)}" ${risk}`;
    }
  }
  return undefined;
}

/** Every object `dereference` treated as a subschema (it marks them with `__absolute_uri__`). */
function* subschemas(value: unknown): Generator<DereferencedNode> {
  if (Array.isArray(value)) {
    for (const item of value) yield* subschemas(item);
  } else if (isObject(value)) {
    if ((value as DereferencedNode).__absolute_uri__ !== undefined) yield value;
    for (const child of Object.values(value)) yield* subschemas(child);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Patterns run in V8's backtracking engine: a pattern like `^(a+)+$` takes
 * exponential time on a short payload. Payloads are checked against patterned
 * schemas off the event loop with a time limit (`schema-checker.ts`), so no
 * pattern can stall the endpoint; this refusal is the first line, a clearer error
 * at registration than a timeout on appends. Refused: patterns with nested
 * quantifiers (star height above 1, the `safe-regex2` analysis), a repeated
 * alternation whose branches are not single characters (`(a|aa)*` backtracks
 * exponentially although its star height is 1; `(a|b)*` is fine), backreferences,
 * and patterns over `PATTERN_MAX_LENGTH`. Conservative on purpose: a refused pattern
 * can be rewritten (a character class, non-overlapping pieces) or checked in the
 * body instead. Polynomial patterns (`^\w*\w*!$`) pass here and meet the time limit.
 */
function backtrackingRisk(pattern: string): string | undefined {
  if (pattern.length > PATTERN_MAX_LENGTH) return `is longer than ${PATTERN_MAX_LENGTH} characters`;
  if (/\\[1-9]|\\k</.test(pattern)) return "uses a backreference (can take exponential time)";
  if (!safeRegex(pattern)) return "nests quantifiers (can take exponential time, e.g. ^(a+)+$); rewrite it without a repeated group that repeats";
  if (repeatsAlternation(tokenize(pattern), false)) {
    return "repeats an alternation of multi-character branches (can take exponential time, e.g. ^(a|aa)*$); use a character class or check it in the body";
  }
  return undefined;
}

/** A group with alternatives under a repetition (max > 1) where some alternative is more than one character or class. */
function repeatsAlternation(node: Root | Token, underRepetition: boolean): boolean {
  if (node.type === types.REPETITION) return repeatsAlternation(node.value, underRepetition || node.max > 1);
  if (node.type !== types.ROOT && node.type !== types.GROUP) return false;
  if (node.options !== undefined) {
    const singleWidth = (branch: Token[]) => branch.length === 1 && (branch[0]!.type === types.CHAR || branch[0]!.type === types.SET);
    if (underRepetition && !node.options.every(singleWidth)) return true;
    return node.options.some((branch) => branch.some((t) => repeatsAlternation(t, underRepetition)));
  }
  return (node.stack ?? []).some((t) => repeatsAlternation(t, underRepetition));
}

/** ret's CommonJS export is the tokenizer itself; its typings describe the ES-module shape instead. */
const tokenize = ret as unknown as (pattern: string) => Root;

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u"); // the flag the validator uses
    return true;
  } catch {
    return false;
  }
}
