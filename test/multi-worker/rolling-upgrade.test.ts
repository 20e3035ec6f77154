/**
 * The rolling upgrade docs/deploy.md describes, against a real restate-server:
 * v1 endpoints behind one HAProxy frontend, v2 behind another, one PostgreSQL registry.
 * Register v2 -> new processes run on v2 while a v1 run waiting for a signal stays pinned
 * to v1 (and the signal, a new invocation, is served by v2); the drain query counts the
 * pinned run until it finishes; then v1 is removed and stopped.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PostgresRegistry } from "../../src/registry/postgres-registry.ts";
import { pidGone } from "../support/child.ts";
import { startEndpointProcess, type EndpointProcess } from "../support/endpoint-process.ts";
import { haproxyBinary, startHaproxy, type Haproxy } from "../support/haproxy.ts";
import { freshSchema, type TestSchema } from "../support/pg.ts";
import { REPO_ROOT, adminQuery, registerDeployment, startRestateServer, waitFor, type RestateServer } from "../support/restate-server.ts";
import { startProcess, workflowAttempts } from "./cluster.ts";

interface Version {
  endpoint: EndpointProcess;
  haproxy: Haproxy;
  deploymentId: string;
}

describe("rolling upgrade: register a new deployment URI, drain the old one", () => {
  let schema: TestSchema | undefined;
  let restate: RestateServer | undefined;
  let registry: PostgresRegistry | undefined;
  const versions: Version[] = [];
  const pids: number[] = [];

  /** One version: an endpoint behind its own HAProxy frontend, registered with Restate. */
  async function deployVersion(): Promise<Version> {
    const endpoint = await startEndpointProcess({
      entry: "src/main.ts",
      env: {
        LASH_REGISTRY_URL: schema!.url(),
        LASH_RECOVER_ON_START: "0",
        RESTATE_ADMIN_URL: restate!.adminUrl,
        RESTATE_INGRESS_URL: restate!.ingressUrl,
        RESTATE_LOGGING: "INFO",
      },
    });
    pids.push(...endpoint.pids);
    let haproxy: Haproxy;
    try {
      haproxy = await startHaproxy({ backends: [{ name: "ep", port: endpoint.port }] });
    } catch (err) {
      await endpoint.stop(); // not yet in `versions`: stop it here, or it outlives the test
      throw err;
    }
    pids.push(haproxy.pid);
    const { id } = (await registerDeployment(restate!.adminUrl, haproxy.url)) as { id: string };
    const version = { endpoint, haproxy, deploymentId: id };
    versions.push(version);
    return version;
  }

  /** Invocations of `run` not yet completed that are pinned to a deployment (the drain query of the docs). */
  const pinnedRuns = async (deploymentId: string) =>
    (
      await adminQuery<{ target_service_key: string }>(
        restate!.adminUrl,
        `SELECT target_service_key FROM sys_invocation WHERE pinned_deployment_id = '${deploymentId}' AND status <> 'completed' AND target_handler_name = 'run'`,
      )
    ).map((r) => r.target_service_key);

  const pinnedTo = async (processId: string) =>
    (
      await adminQuery<{ pinned_deployment_id?: string }>(
        restate!.adminUrl,
        `SELECT pinned_deployment_id FROM sys_invocation WHERE target_service_key = '${processId}' AND target_handler_name = 'run'`,
      )
    )[0]?.pinned_deployment_id;

  const settled = (id: string) =>
    waitFor(
      async () => {
        const record = await registry!.get(id);
        return record?.outcome !== undefined ? record : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `${id} to finish` },
    );

  /** The operator's command: `restate deployments remove <id>` (the CLI refuses a deployment that is not drained). */
  const removeDeployment = (deploymentId: string) =>
    spawnSync(process.execPath, [join(REPO_ROOT, "node_modules", ".bin", "restate"), "--yes", "deployments", "remove", deploymentId], {
      encoding: "utf8",
      env: { ...process.env, RESTATE_ADMIN_URL: restate!.adminUrl, NO_COLOR: "1" },
      timeout: 30_000,
    });

  const startTool = (id: string, tool: string, args: unknown) =>
    startProcess(restate!.ingressUrl, {
      registration: {
        id,
        input: { type: "tool_call", call: { tool, args } },
        eventTypes: [],
        provenance: { ownerScope: { sessionId: "s" }, hostProfileId: "" },
      },
    });

  before(async () => {
    haproxyBinary(); // fails at once, with the install hint, before anything is started
    schema = await freshSchema("lash_upgrade");
    restate = await startRestateServer();
    pids.push(...restate.pids);
    registry = await PostgresRegistry.open(schema.url());
  });

  after(
    async () => {
      await registry?.close();
      for (const v of versions) {
        await v.haproxy.stop();
        await v.endpoint.stop();
      }
      await restate?.stop();
      await schema?.drop();
      for (const pid of pids) assert.ok(pidGone(pid), `pid ${pid} is still running`);
    },
    { timeout: 120_000 },
  );

  it("keeps a waiting v1 run on v1 until it finishes, serves everything new from v2, then v1 is removed", async () => {
    const v1 = await deployVersion();
    await startTool("old-1", "std.wait_signal", { name: "go" });
    await waitFor(async () => (await registry!.get("old-1"))?.status === "waiting", { timeoutMs: 20_000, intervalMs: 50, what: "old-1 waiting" });

    const v2 = await deployVersion();
    assert.notEqual(v2.deploymentId, v1.deploymentId);
    await startTool("new-1", "std.echo", { value: "on v2" });
    assert.deepEqual((await settled("new-1")).outcome, { type: "success", value: "on v2" });
    assert.equal(await pinnedTo("new-1"), v2.deploymentId, "new processes run on the newest deployment");
    assert.equal(await pinnedTo("old-1"), v1.deploymentId);
    assert.deepEqual(await pinnedRuns(v1.deploymentId), ["old-1"], "the drain query finds the run still pinned to v1");
    const early = removeDeployment(v1.deploymentId);
    assert.notEqual(early.status, 0, `removing v1 before it drained must fail:\n${early.stdout}${early.stderr}`);

    // The signal is a new invocation (served by v2); the run it wakes resumes on v1.
    const res = await fetch(`${restate!.ingressUrl}/LashProcessWorkflow/old-1/signal`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "go", payload: { n: 1 } }),
      signal: AbortSignal.timeout(60_000),
    });
    assert.equal(res.status, 200, await res.text());
    assert.deepEqual((await settled("old-1")).outcome, { type: "success", value: { payloads: [{ n: 1 }] } });
    assert.ok(workflowAttempts(v1.endpoint.output()).has("old-1"), "old-1's run was served by v1");
    assert.ok(!workflowAttempts(v2.endpoint.output()).has("old-1"), "and never by v2");
    assert.ok(workflowAttempts(v2.endpoint.output()).has("new-1"));
    await waitFor(async () => (await pinnedRuns(v1.deploymentId)).length === 0, { timeoutMs: 10_000, intervalMs: 50, what: "v1 to drain" });

    // Drained: remove v1 from Restate, stop its endpoint and frontend; v2 carries on alone.
    const removed = removeDeployment(v1.deploymentId);
    assert.equal(removed.status, 0, `${removed.stdout}${removed.stderr}`);
    const left = (await (await fetch(`${restate!.adminUrl}/deployments`, { signal: AbortSignal.timeout(30_000) })).json()) as { deployments: { id: string }[] };
    assert.deepEqual(
      left.deployments.map((d) => d.id),
      [v2.deploymentId],
    );
    await v1.haproxy.stop();
    await v1.endpoint.stop();
    await startTool("new-2", "std.echo", { value: "after the drain" });
    assert.deepEqual((await settled("new-2")).outcome, { type: "success", value: "after the drain" });
  });
});
