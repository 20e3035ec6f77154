import { z } from "zod";
import { defineTool } from "../plugin.ts";
import { ProcessFailure } from "../process-failure.ts";

/** Responses larger than this fail with `resource_limit`: keep big bodies in an external store. */
export const HTTP_RESPONSE_MAX_BYTES = 128 * 1024;
export const HTTP_DEFAULT_TIMEOUT_MS = 30_000;

export const httpTool = defineTool({
  name: "std.http",
  description: "One HTTP request in a durable step; returns {status, headers, body}.",
  args: z.object({
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    timeoutMs: z.number().int().min(1).max(600_000).default(HTTP_DEFAULT_TIMEOUT_MS),
  }),
  run: async (ctx) => {
    const { url, method, headers, body, timeoutMs } = ctx.args;
    return ctx.step(`http ${method} ${url}`, async (signal) => {
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body: body ?? null, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof DOMException && err.name === "TimeoutError") {
          throw new ProcessFailure("timeout", "http_timeout", `${method} ${url} took longer than ${timeoutMs} ms`);
        }
        throw err; // connection errors are transient: the step retries
      }
      const text = await readCapped(response);
      return { status: response.status, headers: Object.fromEntries(response.headers), body: text };
    });
  },
});

async function readCapped(response: Response): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  // The fetch types say ReadableStream<any>; a fetch body yields bytes.
  const body = response.body as ReadableStream<Uint8Array> | null;
  for await (const chunk of body ?? []) {
    size += chunk.byteLength;
    if (size > HTTP_RESPONSE_MAX_BYTES) {
      await response.body?.cancel();
      throw new ProcessFailure("resource_limit", "http_response_too_large", `response body exceeds ${HTTP_RESPONSE_MAX_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
