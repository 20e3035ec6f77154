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
  // Runs on every request body: no array per node, and the path is only built for the one that fails.
  const stack: Frame[] = [{ value, depth: 0, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.value === null || typeof frame.value !== "object") continue; // a primitive at the root
    const depth = frame.depth + 1;
    if (depth > maxDepth) return { path: formatPath([...root, ...pathOf(frame)]), maxDepth };
    const container = frame.value as Record<string, unknown>;
    const keys = Array.isArray(container) ? undefined : Object.keys(container);
    const length = keys === undefined ? (container as unknown as unknown[]).length : keys.length;
    for (let i = 0; i < length; i++) {
      const key = keys === undefined ? i : keys[i]!;
      const child = container[key];
      if (child !== null && typeof child === "object") stack.push({ value: child, depth, key, parent: frame });
    }
  }
  return undefined;
}

interface Frame {
  value: unknown;
  depth: number;
  key: string | number | undefined;
  parent: Frame | undefined;
}

function pathOf(frame: Frame): string[] {
  const path: string[] = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) path.push(String(f.key));
  return path.reverse();
}

/** The field that holds the deep value: the first segments of the path (a 10,000-segment path names nothing). */
function formatPath(path: readonly string[], keep = 8): string {
  const shown = path.slice(0, keep).join(".");
  return path.length > keep ? `${shown}…` : shown || "(body)";
}
