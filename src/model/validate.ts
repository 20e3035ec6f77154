import type { z } from "zod";
import { LashError } from "./errors.ts";

/** Dotted path of a zod issue, prefixed with the name of the value that was parsed. */
export function issuePath(root: string, path: readonly PropertyKey[]): string {
  return [root, ...path.map(String)].filter((s) => s.length > 0).join(".");
}

/**
 * Parses `value` with `schema`; on failure throws `invalid_input` naming the first
 * offending field (`registration.eventTypes.1.name: duplicate event type "x"`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue === undefined ? root : issuePath(root, issue.path);
  const message = issue?.message ?? "invalid";
  throw new LashError("invalid_input", `${field || "input"}: ${message}`, { field, cause: result.error });
}
