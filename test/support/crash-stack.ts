/**
 * The stack crash tests need: a real restate-server and the real endpoint
 * (`node src/main.ts`) as a child process that can be SIGKILLed, sharing one
 * SQLite registry file with the test, which reads and writes it directly.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTerminalStatus } from "../../src/model/index.ts";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";
import type { SweepReport } from "../../src/model/wire.ts";
import { startEndpointProcess, type EndpointProcess } from "./endpoint-process.ts";
import { adminQuery, registerDeployment, startRestateServer, waitFor, type RestateServer } from "./restate-server.ts";

/** A JSON answer body as tests read it: any shape, checked by the assertions that follow. */
type AnyJson = any;

export interface CrashStack {
  restate: RestateServer;
  endpoint: EndpointProcess;
  registry: SqliteRegistry;
  dir: string;
  dbPath: string;
  /** POST JSON to the ingress; `T` is what the caller expects the body to be (the assertions check it). */
  post<T = AnyJson>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Starts `std.steps` through LashProcesses.start. */
  startSteps(id: string, args: { count: number; stepMs?: number }, extra?: Record<string, unknown>): Promise<void>;
  /** Lines of the steps file written by process `id`. */
  lines(id: string): Promise<string[]>;
  runInvocation(id: string): Promise<{ id: string; status: string; completion_failure?: string } | undefined>;
  sweep(): Promise<SweepReport>;
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
  const registry = SqliteRegistry.open(dbPath);
  const post = async <T>(path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${restate.ingressUrl}${path}`, {
      method: "POST",
      signal: AbortSignal.timeout(120_000),
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
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
      const res = await post<SweepReport>("/LashProcessRecovery/default/sweep", {});
      if (res.status !== 200) throw new Error(`sweep: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async waitTerminal(ids, timeoutMs = 60_000) {
      await waitFor(
        async () => {
          const records = await Promise.all(ids.map((id) => registry.get(id)));
          return records.every((r) => r !== undefined && isTerminalStatus(r.status));
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

/**
 * The step of `id` that was in flight at a kill, from its lines read once nothing
 * writes them any more (the endpoint is dead, or its last step closure has ended):
 * the last step whose line is written (its result may not have been journaled),
 * or -1 when none is. Every earlier step was journaled before the next one started.
 */
export function stepInFlight(id: string, lines: string[]): number {
  const prefix = `${id} `;
  return Math.max(-1, ...lines.filter((l) => l.startsWith(prefix)).map((l) => Number(l.slice(prefix.length))));
}

/**
 * Each step's line exactly once, except that the step in flight at each kill
 * (`inFlight`, one entry per kill, from `stepInFlight`) may appear once more per kill.
 */
export function assertStepsExactlyOnce(id: string, lines: string[], count: number, inFlight: readonly number[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = lines.filter((l) => l === `${id} ${i}`).length;
    const allowed = 1 + inFlight.filter((step) => step === i).length;
    if (n === 0) problems.push(`${id}: step ${i} missing`);
    if (n > allowed) problems.push(`${id}: step ${i} ran ${n} times; only a step in flight at a kill may run again (in flight: [${inFlight.join(", ")}])`);
  }
  return problems;
}

/**
 * Every step ran, and no finished step ran again: in file order the process's step
 * numbers never go back (`0 1 1 2` is a step retried while in flight; `0 1 2 1` would be
 * a journaled step run twice). For runs whose attempts Restate itself may end at any
 * point (a cluster node failing over under load), where the kills a test makes are not
 * the only moments a step can be in flight.
 */
export function assertNoFinishedStepRepeated(id: string, lines: string[], count: number): string[] {
  const prefix = `${id} `;
  const steps = lines.filter((l) => l.startsWith(prefix)).map((l) => Number(l.slice(prefix.length)));
  const problems: string[] = [];
  for (let i = 0; i < count; i++) if (!steps.includes(i)) problems.push(`${id}: step ${i} missing`);
  for (let k = 1; k < steps.length; k++) {
    if (steps[k]! < steps[k - 1]!) problems.push(`${id}: step ${steps[k]} ran again after step ${steps[k - 1]} had run (order: ${steps.join(" ")})`);
  }
  return problems;
}
