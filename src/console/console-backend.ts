import { LashProcessClient, type ListFilter, type ProcessPage } from "../client/index.ts";
import { ProcessStatus, ServiceNames, type ProcessRecord } from "../model/index.ts";

/** Rows counted per status for the counts bar, at most (beyond: shown as `10000+`). */
export const COUNT_CAP = 10_000;

export interface ChildNode {
  record: ProcessRecord;
  children: ChildNode[];
}

export interface RunInvocationRef {
  id: string;
  status: string;
}

/**
 * Everything the console reads and does, through Restate's ingress (the lash
 * services, via the typed client) and admin API (`/query` for invocation ids), so
 * it works against any deployment, like lashctl.
 */
export class ConsoleBackend {
  readonly client: LashProcessClient;
  readonly adminUrl: string;

  constructor(opts: { ingressUrl: string; adminUrl: string }) {
    this.client = new LashProcessClient({ ingressUrl: opts.ingressUrl });
    this.adminUrl = opts.adminUrl.replace(/\/+$/, "");
  }

  /** One page, newest first. */
  list(filter: ListFilter): Promise<ProcessPage> {
    return this.client.list({ ...filter, order: "newest" });
  }

  /** Processes per status under the same filters (status aside), each capped at `COUNT_CAP`. */
  async counts(filter: Omit<ListFilter, "status" | "cursor" | "limit" | "order">): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    await Promise.all(
      Object.values(ProcessStatus).map(async (status) => {
        let n = 0;
        let cursor: string | undefined;
        do {
          const page = await this.client.list({ ...filter, status, limit: 1000, ...(cursor ? { cursor } : {}) });
          n += page.items.length;
          cursor = page.nextCursor;
        } while (cursor !== undefined && n < COUNT_CAP);
        counts.set(status, n);
      }),
    );
    return counts;
  }

  /** The children tree below `id` (each level at most 200, at most 4 levels deep). */
  async children(id: string, depth = 4): Promise<ChildNode[]> {
    if (depth === 0) return [];
    const page = await this.client.list({ parentId: id, limit: 200 });
    return Promise.all(page.items.map(async (record) => ({ record, children: await this.children(record.id, depth - 1) })));
  }

  /** The `run` invocation of a process, for a link to Restate's UI; undefined when there is none (or admin is unreachable). */
  async runInvocation(id: string): Promise<RunInvocationRef | undefined> {
    // `id` passed ProcessId validation ([A-Za-z0-9._:-]) on its way here: no quote can reach the SQL.
    const sql =
      `SELECT id, status FROM sys_invocation WHERE target_service_name = '${ServiceNames.workflow}' ` +
      `AND target_handler_name = 'run' AND target_service_key = '${id.replaceAll("'", "''")}' ORDER BY created_at DESC LIMIT 1`;
    try {
      const res = await fetch(`${this.adminUrl}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: sql }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) return undefined;
      const { rows } = (await res.json()) as { rows: RunInvocationRef[] };
      return rows[0];
    } catch {
      return undefined;
    }
  }

  /** Restate's UI page of an invocation. */
  invocationUrl(invocationId: string): string {
    return `${this.adminUrl}/ui/invocations/${encodeURIComponent(invocationId)}`;
  }
}
