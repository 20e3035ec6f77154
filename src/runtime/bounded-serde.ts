import * as restate from "@restatedev/restate-sdk";
import type { z } from "zod";
import { LashError, Limits, nestingProblem } from "../model/index.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

export interface BoundedJsonOptions {
  /**
   * Put the schema, as JSON Schema, in the endpoint's manifest (Restate's UI and OpenAPI
   * show it; default). Validation in the endpoint is the same either way.
   */
  publishSchema?: boolean;
}

/**
 * The serde every lash handler input goes through. Before the schema sees the
 * body it bounds its size (`Limits.requestMaxBytes`) and nesting depth
 * (`Limits.jsonDepthMax`), naming the offending field; and whatever the schema
 * does (a validator that overflows the stack, returns a promise or throws) ends
 * as a 400, never as an exception escaping the endpoint.
 */
export class BoundedJsonSerde<T extends z.ZodType> implements restate.Serde<z.output<T>> {
  readonly contentType: string | undefined;
  readonly jsonSchema: object | undefined;
  readonly #inner: restate.Serde<z.output<T>>;
  readonly #schema: T;

  constructor(schema: T, opts: BoundedJsonOptions = {}) {
    this.#schema = schema;
    this.#inner = restate.serde.schema(schema) as restate.Serde<z.output<T>>;
    this.contentType = this.#inner.contentType;
    this.jsonSchema = opts.publishSchema === false ? undefined : this.#inner.jsonSchema;
  }

  serialize(value: z.output<T>): Uint8Array {
    return this.#inner.serialize(value);
  }

  deserialize(data: Uint8Array): z.output<T> {
    if (data.length > Limits.requestMaxBytes) {
      throw invalid("(body)", `the request body is ${data.length} bytes; the limit is ${Limits.requestMaxBytes}`);
    }
    let value: unknown;
    try {
      value = data.length === 0 ? undefined : JSON.parse(utf8.decode(data));
    } catch (err) {
      throw invalid("(body)", `not valid JSON (${(err as Error).message})`);
    }
    const deep = nestingProblem(value, Limits.jsonDepthMax);
    if (deep !== undefined) throw invalid(deep.path, `JSON nested deeper than ${deep.maxDepth} levels`);
    let result: z.ZodSafeParseResult<z.output<T>>;
    try {
      result = this.#schema.safeParse(value);
    } catch (err) {
      throw invalid("(body)", `could not be validated (${err instanceof Error ? err.message : String(err)})`);
    }
    if (result.success) return result.data;
    const issues = result.error.issues.map((i) => (i.path.length > 0 ? `* (at /${i.path.map(String).join("/")}) ${i.message}` : `* ${i.message}`));
    throw new Error(`Standard schema validation failed:\n${issues.join("\n")}`);
  }
}

/** The SDK turns an error thrown here into a 400 `Failed to deserialize input: <message>`. */
function invalid(field: string, message: string): Error {
  return new Error(new LashError("invalid_input", `${field}: ${message}`, { field }).toWire());
}

/** `restate.serde.schema` with the bounds above. */
export const boundedJson = <T extends z.ZodType>(schema: T, opts?: BoundedJsonOptions): BoundedJsonSerde<T> => new BoundedJsonSerde(schema, opts);
