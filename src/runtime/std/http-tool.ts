import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { z } from "zod";
import { SENSITIVE_HEADER } from "../../model/index.ts";
import { defineTool } from "../plugin.ts";
import { ProcessFailure } from "../process-failure.ts";
import { HttpPolicy } from "./http-guard.ts";

/** Responses larger than this fail with `resource_limit`: keep big bodies in an external store. */
export const HTTP_RESPONSE_MAX_BYTES = 128 * 1024;
export const HTTP_DEFAULT_TIMEOUT_MS = 30_000;
export const HTTP_MAX_REDIRECTS = 5;

/** A header value: a literal, or `{ "$env": "NAME" }`, read from the endpoint's environment inside the step (never journaled). */
export const HeaderValue = z.union([
  z.string(),
  z.strictObject({ $env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name") }),
]);

export interface HttpToolOptions {
  /** Hosts reachable even on loopback/link-local/private addresses (`LASH_HTTP_ALLOW`). */
  allow?: readonly string[];
  /** Where `$env` header references are read (the endpoint's environment). */
  env?: NodeJS.ProcessEnv;
}

/**
 * `std.http`: one request in a durable step. The step is named `http <METHOD>`
 * only (the URL may carry a token); redirects are followed by hand, each hop
 * checked against the address policy; the body is capped; a timeout bounds the whole.
 */
export function httpTool(opts: HttpToolOptions = {}) {
  const policy = new HttpPolicy(opts.allow);
  const env = opts.env ?? process.env;
  return defineTool({
    name: "std.http",
    description: "One HTTP request in a durable step; returns {status, headers, body}.",
    args: z.object({
      url: z.url({ protocol: /^https?$/ }),
      method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
      headers: z.record(z.string(), HeaderValue).default({}),
      body: z.string().optional(),
      timeoutMs: z.number().int().min(1).max(600_000).default(HTTP_DEFAULT_TIMEOUT_MS),
    }),
    run: async (ctx) => {
      const { url, method, headers, body, timeoutMs } = ctx.args;
      return ctx.step(`http ${method}`, async (signal) => {
        const resolved = resolveHeaders(headers, env);
        const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
        try {
          return await follow(policy, new URL(url), method, resolved, body, deadline);
        } catch (err) {
          if (signal.aborted) throw err;
          if (deadline.aborted) throw new ProcessFailure("timeout", "http_timeout", `${method} took longer than ${timeoutMs} ms`);
          throw err; // connection errors are transient: the step retries
        }
      });
    },
  });
}

function resolveHeaders(headers: Record<string, z.infer<typeof HeaderValue>>, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string") {
      out[name] = value;
      continue;
    }
    const secret = env[value.$env];
    if (secret === undefined) {
      throw new ProcessFailure("invalid_request", "http_secret_missing", `header "${name}" references $env "${value.$env}", which is not set on this endpoint`);
    }
    out[name] = secret;
  }
  return out;
}

interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function follow(
  policy: HttpPolicy,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
): Promise<HttpResult> {
  let current = url;
  let currentMethod = method;
  let currentBody = body;
  for (let hop = 0; ; hop++) {
    const response = await send(policy, current, currentMethod, headers, currentBody, signal);
    const location = response.headers.location;
    if (response.statusCode === undefined || response.statusCode < 300 || response.statusCode >= 400 || location === undefined) {
      return { status: response.statusCode ?? 0, headers: flatHeaders(response), body: await readCapped(response) };
    }
    response.resume();
    if (hop >= HTTP_MAX_REDIRECTS) throw new ProcessFailure("execution", "http_too_many_redirects", `more than ${HTTP_MAX_REDIRECTS} redirects`);
    const next = new URL(location, current);
    if (next.protocol !== "http:" && next.protocol !== "https:")
      throw new ProcessFailure("execution", "http_redirect_refused", `redirect to a ${next.protocol} URL`);
    if (next.origin !== current.origin) {
      // Credentials never follow a redirect to another origin.
      for (const name of Object.keys(headers)) if (SENSITIVE_HEADER.test(name)) delete headers[name];
    }
    if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && currentMethod === "POST")) {
      currentMethod = "GET";
      currentBody = undefined;
    }
    current = next;
  }
}

function send(
  policy: HttpPolicy,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  policy.checkUrl(url);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, signal, lookup: policy.lookupFor(url.hostname) }, resolve);
    req.on("error", reject);
    req.end(body);
  });
}

function flatHeaders(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

async function readCapped(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > HTTP_RESPONSE_MAX_BYTES) {
      response.destroy();
      throw new ProcessFailure("resource_limit", "http_response_too_large", `response body exceeds ${HTTP_RESPONSE_MAX_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
