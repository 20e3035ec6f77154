/**
 * The stack crash tests need: a real restate-server and the real endpoint
 * (`node src/main.ts`) as a child process that can be SIGKILLed, sharing one
 * SQLite registry file with the test, which reads and writes it directly.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";
import { startEndpointProcess, type EndpointProcess } from "./endpoint-process.ts";
import { adminQuery, registerDeployment, startRestateServer, waitFor, type RestateServer } from "./restate-server.ts";

export interface CrashStack {
  restate: RestateServer;
  endpoint: EndpointProcess;
  registry: SqliteRegistry;
  dir: string;
  dbPath: string;
  post(path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Starts `std.steps` through LashProcesses.start. */
  startSteps(id: string, args: { count: number; stepMs?: number }, extra?: Record<string, unknown>): Promise<void>;
  /** Lines of the steps file written by process `id`. */
  lines(id: string): Promise<string[]>;
  runInvocation(id: string): Promise<{ id: string; status: string; completion_failure?: string } | undefined>;
  sweep(): Promise<Record<string, any>>;
  waitTerminal(ids: string[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCrashStack(env: Record<string, string> = {}): Promise<CrashStack> {
  const dir = await mkdtemp(join(tmpdir(), "lash-crash-"));
  const dbPath = join(dir, "registry.db");
  const stepsFile = join(dir, "steps.txt");
  const restate = await startRestateServer();
  const endpoint = await startEndpointProcess({
    entry: "src/main.ts",
    env: {
      LASH_REGISTRY_URL: `sqlite:${dbPath}`,
      RESTATE_ADMIN_URL: restate.adminUrl,
      RESTATE_INGRESS_URL: restate.ingressUrl,
      LASH_RECOVER_ON_START: "0",
      RESTATE_LOGGING: "WARN",
      // The crash tests' workload is std.steps, a test tool.
      LASH_ENABLE_TEST_TOOLS: "1",
      ...env,
    },
  });
  await registerDeployment(restate.adminUrl, endpoint.url);
  const registry = await SqliteRegistry.open(dbPath);
  const post = async (path: string, body?: unknown) => {
    const res = await fetch(`${restate.ingressUrl}${path}`, {
      method: "POST",
      signal: AbortSignal.timeout(120_000),
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    restate,
    endpoint,
    registry,
    dir,
    dbPath,
    post,
    async startSteps(id, args, extra = {}) {
      const res = await post("/LashProcesses/start", {
        registration: {
          id,
          input: { type: "tool_call", call: { tool: "std.steps", args: { file: stepsFile, stepMs: 0, ...args } } },
          provenance: { ownerScope: { sessionId: "crash" }, hostProfileId: "" },
          ...extra,
        },
      });
      if (res.status !== 200) throw new Error(`start ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async lines(id) {
      const text = await readFile(stepsFile, "utf8").catch(() => "");
      return text.split("\n").filter((l) => l.startsWith(`${id} `));
    },
    async runInvocation(id) {
      const rows = await adminQuery<{ id: string; status: string; completion_failure?: string }>(
        restate.adminUrl,
        `SELECT id, status, completion_failure FROM sys_invocation WHERE target_service_name = 'LashProcessWorkflow' AND target_handler_name = 'run' AND target_service_key = '${id}'`,
      );
      return rows[0];
    },
    async sweep() {
      const res = await post("/LashProcessRecovery/default/sweep", {});
      if (res.status !== 200) throw new Error(`sweep: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async waitTerminal(ids, timeoutMs = 60_000) {
      await waitFor(
        async () => {
          const records = await Promise.all(ids.map((id) => registry.get(id)));
          return records.every((r) => r !== undefined && ["completed", "failed", "cancelled", "abandoned"].includes(r.status));
        },
        { timeoutMs, intervalMs: 100, what: `${ids.length} processes terminal` },
      );
    },
    async close() {
      await endpoint.stop();
      await restate.stop();
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Each finished step's line once; only the step in flight at a crash may appear twice. */
export function assertStepsExactlyOnce(id: string, lines: string[], count: number, crashes: number): string[] {
  const problems: string[] = [];
  let duplicated = 0;
  for (let i = 0; i < count; i++) {
    const n = lines.filter((l) => l === `${id} ${i}`).length;
    if (n === 0) problems.push(`${id}: step ${i} missing`);
    if (n > 1) duplicated += n - 1;
  }
  if (duplicated > crashes) problems.push(`${id}: ${duplicated} duplicated step lines for ${crashes} crash(es)`);
  return problems;
}
