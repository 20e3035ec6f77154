import type { z } from "zod";
import { LashError, parseOrThrow, type ProcessInput } from "../model/index.ts";
import type { ProcessRef } from "../client/process-ref.ts";
import type { CatalogEntry } from "../model/wire.ts";
import { catalogEntry } from "./catalog.ts";
import type { ProcessContext } from "./process-context.ts";

/** A body that runs one tool call or one program under a ProcessContext. */
export interface ProcessBodyDefinition<S extends z.ZodType = z.ZodType, R = unknown> {
  name: string;
  description?: string;
  /** Arguments are validated with this schema before the process is registered. */
  args: S;
  /**
   * At most this many processes of this tool or program run at once on the deployment;
   * the rest wait `queued` in FIFO order. `LASH_MAX_CONCURRENT` overrides it.
   */
  maxConcurrent?: number;
  /** Its return value (JSON) is the process's `success.value`. */
  run(ctx: ProcessContext<z.infer<S>>): Promise<R>;
}

/**
 * What `defineTool` returns: the body, tagged as a tool, keeping its argument
 * schema and result types so `client.start(tool, args)` is typed end to end.
 */
export type ToolDefinition<S extends z.ZodType = z.ZodType, R = unknown> = ProcessBodyDefinition<S, R> & ProcessRef<z.input<S>, R> & { readonly kind: "tool" };
/** What `defineProgram` returns: like a tool, tagged as a program. */
export type ProgramDefinition<S extends z.ZodType = z.ZodType, R = unknown> = ProcessBodyDefinition<S, R> &
  ProcessRef<z.input<S>, R> & { readonly kind: "program" };

export interface Plugin {
  name: string;
  tools: ProcessBodyDefinition[];
  programs: ProcessBodyDefinition[];
}

export const defineTool = <S extends z.ZodType, R>(tool: ProcessBodyDefinition<S, R>): ToolDefinition<S, R> => ({ ...tool, kind: "tool" });
export const defineProgram = <S extends z.ZodType, R>(program: ProcessBodyDefinition<S, R>): ProgramDefinition<S, R> => ({ ...program, kind: "program" });
export const definePlugin = (plugin: { name: string; tools?: ProcessBodyDefinition[]; programs?: ProcessBodyDefinition[] }): Plugin => ({
  name: plugin.name,
  tools: plugin.tools ?? [],
  programs: plugin.programs ?? [],
});

/** A resolved body: what to run and its parsed arguments. */
export interface ResolvedBody {
  body: ProcessBodyDefinition;
  args: unknown;
}

/** The tools and programs this endpoint can run, by name. */
export class PluginHost {
  readonly #tools = new Map<string, ProcessBodyDefinition>();
  readonly #programs = new Map<string, ProcessBodyDefinition>();

  constructor(plugins: Plugin[]) {
    for (const plugin of plugins) {
      for (const tool of plugin.tools) addUnique(this.#tools, tool, "tool");
      for (const program of plugin.programs) addUnique(this.#programs, program, "program");
    }
  }

  toolNames(): string[] {
    return [...this.#tools.keys()].sort();
  }

  programNames(): string[] {
    return [...this.#programs.keys()].sort();
  }

  /** The definition named by a `tool_call` or `program` input, without parsing its arguments. */
  definitionOf(input: ProcessInput): ProcessBodyDefinition | undefined {
    if (input.type === "tool_call") return this.#tools.get(input.call.tool);
    if (input.type === "program") return this.#programs.get(input.name);
    return undefined;
  }

  /** Every definition (tools, then programs). */
  definitions(): ProcessBodyDefinition[] {
    return [...this.#tools.values(), ...this.#programs.values()];
  }

  /** Every tool, then every program, by name, with its arguments as JSON Schema. */
  catalog(): CatalogEntry[] {
    const tools = this.toolNames().map((name) => catalogEntry("tool", this.#tools.get(name)!));
    return [...tools, ...this.programNames().map((name) => catalogEntry("program", this.#programs.get(name)!))];
  }

  /**
   * Finds the body for a `tool_call` or `program` input and parses its arguments.
   * Unknown names and bad arguments are `invalid_input` errors naming the field.
   * Returns undefined for inputs that are not run by a plugin.
   */
  resolve(input: ProcessInput, root = "registration.input"): ResolvedBody | undefined {
    if (input.type === "tool_call") {
      const body = this.#tools.get(input.call.tool);
      if (body === undefined) throw unknown("tool", input.call.tool, `${root}.call.tool`, this.toolNames());
      return { body, args: parseOrThrow(body.args, input.call.args, `${root}.call.args`) };
    }
    if (input.type === "program") {
      const body = this.#programs.get(input.name);
      if (body === undefined) throw unknown("program", input.name, `${root}.name`, this.programNames());
      return { body, args: parseOrThrow(body.args, input.args, `${root}.args`) };
    }
    return undefined;
  }
}

function addUnique(map: Map<string, ProcessBodyDefinition>, def: ProcessBodyDefinition, kind: string): void {
  if (map.has(def.name)) throw new Error(`${kind} "${def.name}" is registered twice`);
  map.set(def.name, def);
}

function unknown(kind: string, name: string, field: string, known: string[]): LashError {
  return new LashError("invalid_input", `${field}: unknown ${kind} "${name}" (known: ${known.join(", ") || "none"})`, { field });
}
