import type { ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import type { CatalogEntry } from "../../model/wire.ts";

/** The tools offered to the model, and the catalog name behind each function name. */
export interface ModelTools {
  tools: ChatCompletionFunctionTool[];
  /** Function name (as the model sees it) -> catalog entry. */
  byFunctionName: Map<string, CatalogEntry>;
}

/**
 * Exactly the catalog entries named in `names` (`LASH_TURN_TOOLS`), as chat-completions
 * functions. Function names allow only `[A-Za-z0-9_-]` (at most 64), so `std.echo`
 * is offered as `std_echo`; a clash gets a numeric suffix. A name the catalog does not
 * have is an error at start-up, naming it.
 */
export function modelTools(catalog: CatalogEntry[], names: string[]): ModelTools {
  const byFunctionName = new Map<string, CatalogEntry>();
  const tools: ChatCompletionFunctionTool[] = [];
  for (const name of new Set(names)) {
    const entry = catalog.find((e) => e.name === name);
    if (entry === undefined) {
      throw new Error(`LASH_TURN_TOOLS: "${name}" is not in this endpoint's catalog (known: ${catalog.map((e) => e.name).join(", ")})`);
    }
    let fn = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60);
    for (let i = 2; byFunctionName.has(fn); i++) fn = `${fn.slice(0, 60)}_${i}`;
    byFunctionName.set(fn, entry);
    tools.push({ type: "function", function: { name: fn, ...(entry.description ? { description: entry.description } : {}), parameters: parametersOf(entry) } });
  }
  return { tools, byFunctionName };
}

/** Function parameters must be an object schema; `$schema` is dropped (some servers refuse it). */
function parametersOf(entry: CatalogEntry): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = entry.argsSchema;
  return schema.type === "object" ? schema : { type: "object", properties: {}, additionalProperties: true };
}
