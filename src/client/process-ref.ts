/**
 * A tool or program named together with its types, so a host starts it with
 * typed arguments and gets a typed result. `defineTool` / `defineProgram`
 * return one; code that must not import a body names it by type only:
 *
 *   import type { add } from "./tools.ts";
 *   const addRef = toolRef<typeof add>("acc.add");
 *   const handle = await client.start(addRef, { a: 1, b: 2 });
 *   const out = await handle.result(); // success.value: the body's return type
 */
export interface ProcessRef<Args = unknown, Result = unknown> {
  readonly kind: "tool" | "program";
  readonly name: string;
  /** Carries the types only; never set at runtime. */
  readonly __lashTypes?: { readonly args: Args; readonly result: Result };
}

/** The arguments a ref (or a definition) accepts: its zod schema's input type. */
export type ArgsOf<R> = R extends ProcessRef<infer A, unknown> ? A : never;
/** What a ref's (or a definition's) body returns: `success.value` of its outcome. */
export type ResultOf<R> = R extends ProcessRef<unknown, infer T> ? T : never;

/** Names a tool by type only: `toolRef<typeof add>("acc.add")` (no import of the body at runtime). */
export function toolRef<D extends ProcessRef = ProcessRef>(name: string): ProcessRef<ArgsOf<D>, ResultOf<D>> {
  return { kind: "tool", name };
}

/** Names a program by type only: `programRef<typeof approval>("greet.approval")`. */
export function programRef<D extends ProcessRef = ProcessRef>(name: string): ProcessRef<ArgsOf<D>, ResultOf<D>> {
  return { kind: "program", name };
}
