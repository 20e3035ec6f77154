import { z } from "zod";
import { Limits } from "./limits.ts";
import { nestingProblem } from "./json-depth.ts";

type JsonType = z.core.util.JSONType;

/**
 * Any JSON value, passed through unchanged. Unlike `z.json()` it neither
 * recurses (a deep value cannot overflow the stack: depth is bounded by
 * `Limits.jsonDepthMax` first) nor copies (`z.json()` assigns keys one by one,
 * so a `"__proto__"` key became the copy's prototype and vanished from the
 * stored value and its content hash).
 */
export const JsonValue = z.unknown().superRefine((value, ctx) => {
  const deep = nestingProblem(value, Limits.jsonDepthMax);
  if (deep !== undefined) {
    ctx.addIssue({ code: "custom", message: `JSON nested deeper than ${deep.maxDepth} levels (at ${deep.path || "the value"})` });
    return;
  }
  const bad = firstNonJson(value);
  if (bad !== undefined) ctx.addIssue({ code: "custom", message: `not a JSON value (${bad})` });
}) as unknown as z.ZodType<JsonType>;

/** A JSON object (string keys), passed through unchanged like `JsonValue`. */
export const JsonObject = JsonValue.refine((v) => v !== null && typeof v === "object" && !Array.isArray(v), "expected an object") as unknown as z.ZodType<
  Record<string, JsonType>
>;

/** Why `value` is not plain JSON (a function, `undefined`, NaN, a class instance), iteratively. */
function firstNonJson(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return `${v} is not a JSON number`;
      continue;
    }
    if (Array.isArray(v)) {
      const items: unknown[] = v;
      stack.push(...items);
      continue;
    }
    if (typeof v === "object") {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return "an object that is not plain JSON";
      for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
      continue;
    }
    return `a ${typeof v}`;
  }
  return undefined;
}
