/**
 * Nesting depth of a parsed JSON value, measured without recursion, so a value
 * nested 10,000 levels deep costs a loop, not the stack. Schema validators
 * (zod's `z.json()`, JSON Schema) and `JSON.stringify` recurse per level: this
 * check runs before any of them.
 */

export interface NestingProblem {
  /** Dotted path of the first value past the limit, e.g. `registration.input.call.args.value.0`. */
  path: string;
  maxDepth: number;
}

/** Where `value` nests deeper than `maxDepth` containers (objects/arrays), or `undefined` if it does not. */
export function nestingProblem(value: unknown, maxDepth: number, root: readonly string[] = []): NestingProblem | undefined {
  const stack: { value: unknown; depth: number; path: readonly string[] }[] = [{ value, depth: 0, path: root }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item.value === null || typeof item.value !== "object") continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) return { path: formatPath(item.path), maxDepth };
    const entries: [string, unknown][] = Array.isArray(item.value)
      ? item.value.map((v, i) => [String(i), v])
      : Object.entries(item.value as Record<string, unknown>);
    for (const [key, child] of entries) {
      if (child !== null && typeof child === "object") stack.push({ value: child, depth, path: [...item.path, key] });
    }
  }
  return undefined;
}

/** The field that holds the deep value: the first segments of the path (a 10,000-segment path names nothing). */
function formatPath(path: readonly string[], keep = 8): string {
  const shown = path.slice(0, keep).join(".");
  return path.length > keep ? `${shown}…` : shown || "(body)";
}
