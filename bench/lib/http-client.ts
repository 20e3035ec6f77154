/**
 * A small keep-alive HTTP/1.1 JSON client for the load generator: lighter than
 * `fetch` per request, so the measuring client takes less of the shared CPU.
 */
import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface JsonResponse {
  status: number;
  body: unknown;
  text: string;
}

/** POSTs `body` as JSON (or no body when undefined); rejects on network errors and after `timeoutMs`. */
export function postJson(url: string, body?: unknown, timeoutMs = 60_000): Promise<JsonResponse> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": payload.length },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`POST ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Like `postJson`, but a non-2xx answer is an error naming the URL and the body. */
export async function postOk(url: string, body?: unknown, timeoutMs?: number): Promise<unknown> {
  const res = await postJson(url, body, timeoutMs);
  if (res.status < 200 || res.status >= 300) throw new Error(`POST ${url} -> ${res.status}: ${res.text.slice(0, 500)}`);
  return res.body;
}

export function closeClient(): void {
  agent.destroy();
}
