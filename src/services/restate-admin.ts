import { Agent, request } from "node:http";
import { LashError, ProcessAwaitOutput, ServiceNames } from "../model/index.ts";

export interface RestateEndpoints {
  /** Admin API, e.g. `http://127.0.0.1:9070`. */
  adminUrl: string;
  /** Ingress, e.g. `http://127.0.0.1:8080`. */
  ingressUrl: string;
}

/** One row of `sys_invocation` for a `LashProcessWorkflow/<key>/run`. Null columns are absent. */
export interface RunInvocation {
  id: string;
  target_service_key: string;
  status: string;
  completion_result?: "success" | "failure";
  completion_failure?: string;
}

/** How long a call may go without a byte from Restate before it fails. */
const CALL_TIMEOUT_MS = 30_000;

/**
 * The few admin and ingress calls recovery needs, over plain HTTP/1.1 with kept-alive
 * connections. `node:http` rather than `fetch`: a sweep's calls run on the endpoint its
 * recovered runs execute on, and undici's per-call cost slowed those runs when the sweep
 * submitted every row over HTTP (10,000 rows reached terminal in about 13.6 s with fetch,
 * 11.8 s with this; bench/recovery-bench.ts). Runs are now started through the sweep's
 * journal (recovery-sweep.ts `starts`); what is left here is one query per page and the
 * per-row calls of rows Restate already holds.
 * Ids reach SQL and URL paths only after `ProcessId` validation ([A-Za-z0-9._:-]).
 */
export class RestateAdmin {
  readonly #urls: RestateEndpoints;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(urls: RestateEndpoints) {
    this.#urls = urls;
  }

  /** The `run` invocations of these workflow keys, in one query (not one call per key). */
  async runInvocations(keys: readonly string[]): Promise<Map<string, RunInvocation>> {
    const found = new Map<string, RunInvocation>();
    if (keys.length === 0) return found;
    const list = keys.map((k) => `'${k.replaceAll("'", "''")}'`).join(",");
    const query =
      "SELECT id, target_service_key, status, completion_result, completion_failure FROM sys_invocation " +
      `WHERE target_service_name = '${ServiceNames.workflow}' AND target_handler_name = 'run' AND target_service_key IN (${list})`;
    const { rows } = JSON.parse(await this.#call("POST", `${this.#urls.adminUrl}/query`, JSON.stringify({ query }))) as { rows: RunInvocation[] };
    for (const row of rows) found.set(row.target_service_key, row);
    return found;
  }

  /** The output of a completed successful `run`. */
  async runOutput(key: string): Promise<ProcessAwaitOutput> {
    return ProcessAwaitOutput.parse(
      JSON.parse(await this.#call("GET", `${this.#urls.ingressUrl}/restate/workflow/${ServiceNames.workflow}/${encodeURIComponent(key)}/output`)),
    );
  }

  async purge(invocationId: string): Promise<void> {
    await this.#call("PATCH", `${this.#urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/purge`);
  }

  async kill(invocationId: string): Promise<void> {
    await this.#call("PATCH", `${this.#urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/kill`);
  }

  async resume(invocationId: string): Promise<void> {
    await this.#call("PATCH", `${this.#urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/resume`);
  }

  /**
   * One call; the answer's body as text. Unreachable is a LashError `unreachable`; a non-2xx
   * answer an Error with its start. Every call here is idempotent, so one that met a kept-alive
   * connection the server had just closed is sent once more (Node's advice for `keepAlive`
   * agents); a second reset is reported like any other.
   */
  #call(method: string, url: string, json?: string, retryReset = true): Promise<string> {
    const target = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method,
          agent: this.#agent,
          timeout: CALL_TIMEOUT_MS,
          headers:
            json === undefined
              ? { accept: "application/json" }
              : { "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(json) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(text);
            else reject(new Error(`${method} ${target.pathname} answered ${status}: ${text.slice(0, 500)}`));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (retryReset && req.reusedSocket && err.code === "ECONNRESET") resolve(this.#call(method, url, json, false));
        else reject(new LashError("unreachable", `Restate at ${target.origin} is unreachable: ${err.message}`, { cause: err }));
      });
      req.end(json);
    });
  }
}
