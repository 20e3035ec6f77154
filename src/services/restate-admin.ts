import { LashError, ProcessAwaitOutput, ServiceNames, type ProcessRegistration } from "../model/index.ts";

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

/**
 * The few admin and ingress calls recovery needs, over plain HTTP. Ids reach
 * SQL and URL paths only after `ProcessId` validation ([A-Za-z0-9._:-]).
 */
export class RestateAdmin {
  readonly #urls: RestateEndpoints;

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
    const res = await this.#fetch(`${this.#urls.adminUrl}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query }),
    });
    const { rows } = (await res.json()) as { rows: RunInvocation[] };
    for (const row of rows) found.set(row.target_service_key, row);
    return found;
  }

  /** `/run/send` is idempotent per key: a key with a run answers PreviouslyAccepted. */
  async submitRun(registration: ProcessRegistration): Promise<void> {
    await this.#send(`${this.#urls.ingressUrl}/${ServiceNames.workflow}/${encodeURIComponent(registration.id)}/run/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ registration }),
    });
  }

  /** The output of a completed successful `run`. */
  async runOutput(key: string): Promise<ProcessAwaitOutput> {
    const res = await this.#fetch(`${this.#urls.ingressUrl}/restate/workflow/${ServiceNames.workflow}/${encodeURIComponent(key)}/output`);
    return ProcessAwaitOutput.parse(await res.json());
  }

  purge(invocationId: string): Promise<void> {
    return this.#send(`${this.#urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/purge`, { method: "PATCH" });
  }

  kill(invocationId: string): Promise<void> {
    return this.#send(`${this.#urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/kill`, { method: "PATCH" });
  }

  resume(invocationId: string): Promise<void> {
    return this.#send(`${this.#urls.adminUrl}/invocations/${encodeURIComponent(invocationId)}/resume`, { method: "PATCH" });
  }

  /** A call whose answer only matters as a status: its body is read to the end, so fetch (undici) can reuse the connection. */
  async #send(url: string, init: RequestInit): Promise<void> {
    await (await this.#fetch(url, init)).arrayBuffer();
  }

  async #fetch(url: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new LashError("unreachable", `Restate at ${new URL(url).origin} is unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new Error(`${init.method ?? "GET"} ${new URL(url).pathname} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    return res;
  }
}
