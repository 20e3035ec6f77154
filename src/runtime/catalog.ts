import { z } from "zod";
import type { CatalogEntry } from "../model/wire.ts";
import type { ProcessBodyDefinition } from "./plugin.ts";

/**
 * The args schema as JSON Schema. Parts zod cannot express (a `z.custom`, a date, a
 * transform's output) become `{}` (anything) rather than failing the whole catalog:
 * the endpoint still validates the arguments with the zod schema itself before
 * anything runs. A schema that cannot be converted at all is described as
 * "any object", with a note in `description`.
 */
export function argsJsonSchema(schema: z.ZodType): { schema: Record<string, z.core.util.JSONType>; lossy: boolean } {
  try {
    const converted = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, z.core.util.JSONType>;
    return { schema: converted, lossy: false };
  } catch {
    return { schema: { type: "object" }, lossy: true };
  }
}

export function catalogEntry(kind: "tool" | "program", body: ProcessBodyDefinition): CatalogEntry {
  const { schema, lossy } = argsJsonSchema(body.args);
  const note = lossy ? "(arguments not expressible as JSON Schema; the endpoint validates them)" : undefined;
  const description = [body.description, note].filter((d) => d !== undefined).join(" ");
  return { name: body.name, kind, ...(description ? { description } : {}), argsSchema: schema };
}
