/**
 * A Restate cluster on loopback for tests: N restate-server nodes from node_modules, every
 * role on every node, `default-replication = 2`, `auto-provision` on node 1 only,
 * `[metadata-client] addresses` listing every node, distinct bind/ingress/admin ports
 * (DESIGN "Restate facts"; docs/deploy.md §1). Each node has its own base dir and config
 * file, so a SIGKILLed node restarts with its data. Stopped by pid.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning, keepTestData, killHard, logTail, spawnLogged, stopGracefully } from "./child.ts";
import { answers } from "../../src/testing/ports.ts";
import { freePort } from "./ports.ts";
import { restateServerBinary } from "../../src/testing/restate-server-binary.ts";
import { REPO_ROOT, waitFor } from "./restate-server.ts";

export interface ClusterNode {
  readonly name: string;
  readonly ingressUrl: string;
  readonly adminUrl: string;
  readonly logPath: string;
  readonly pids: readonly number[];
  running(): boolean;
  /** SIGKILL (a crash); keeps the data. */
  kill(): Promise<void>;
  /** Starts the node again with the same config and data; waits until its ingress is healthy. */
  restart(): Promise<void>;
  output(): string;
}

export interface RestateCluster {
  readonly nodes: readonly ClusterNode[];
  pids(): number[];
  /** Stops every node (SIGTERM, then SIGKILL) and removes the data unless LASH_KEEP_TEST_DATA=1. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;

export function nodeConfig(i: number, ports: { fabric: number; admin: number; ingress: number }, fabricPorts: number[]): string {
  const addresses = fabricPorts.map((p) => `"http://127.0.0.1:${p}/"`).join(", ");
  return [
    `node-name = "restate-${i + 1}"`,
    `cluster-name = "lash-test-cluster"`,
    `roles = ["metadata-server", "admin", "worker", "log-server", "http-ingress"]`,
    `auto-provision = ${i === 0}`,
    `advertised-address = "http://127.0.0.1:${ports.fabric}/"`,
    `bind-address = "127.0.0.1:${ports.fabric}"`,
    `default-num-partitions = 4`,
    `default-replication = 2`,
    `disable-telemetry = true`,
    ``,
    `[metadata-client]`,
    `addresses = [${addresses}]`,
    ``,
    `[admin]`,
    `bind-address = "127.0.0.1:${ports.admin}"`,
    ``,
    `[ingress]`,
    `bind-address = "127.0.0.1:${ports.ingress}"`,
    ``,
  ].join("\n");
}

export async function startRestateCluster(opts: { nodes?: number } = {}): Promise<RestateCluster> {
  const count = opts.nodes ?? 3;
  const root = mkdtempSync(join(tmpdir(), "lash-restate-cluster-"));
  const ports: { fabric: number; admin: number; ingress: number }[] = [];
  for (let i = 0; i < count; i++) ports.push({ fabric: await freePort(), admin: await freePort(), ingress: await freePort() });
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("RESTATE_")) env[key] = value;
  Object.assign(env, { RESTATE_LOG_DISABLE_ANSI_CODES: "true", SCARF_ANALYTICS: "false", DO_NOT_TRACK: "1" });

  const nodes = ports.map((p, i): ClusterNode & { launch(): void } => {
    const dir = join(root, `node-${i + 1}`);
    const configPath = join(root, `node-${i + 1}.toml`);
    const logPath = join(root, `node-${i + 1}.log`);
    writeFileSync(
      configPath,
      nodeConfig(
        i,
        p,
        ports.map((q) => q.fabric),
      ),
    );
    const pids: number[] = [];
    let child: ChildProcess | undefined;
    const ingressUrl = `http://127.0.0.1:${p.ingress}`;
    const node = {
      name: `restate-${i + 1}`,
      ingressUrl,
      adminUrl: `http://127.0.0.1:${p.admin}`,
      logPath,
      pids,
      running: () => child !== undefined && isRunning(child),
      launch() {
        child = spawnLogged(restateServerBinary(REPO_ROOT), ["--base-dir", dir, "--config-file", configPath, "--no-logo"], { env, logPath, cwd: root });
        pids.push(child.pid!);
      },
      async kill() {
        if (child) await killHard(child);
      },
      async restart() {
        if (child) await stopGracefully(child, 10_000);
        node.launch();
        await waitHealthy(node);
      },
      output: () => logTail(logPath, Number.MAX_SAFE_INTEGER),
    };
    return node;
  });
  const stop = async () => {
    for (const node of nodes) await node.kill().catch(() => {});
    if (!keepTestData()) rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const node of nodes) node.launch();
    await Promise.all(nodes.map(waitHealthy));
  } catch (err) {
    const logs = nodes.map((n) => `--- ${n.name} ---\n${logTail(n.logPath)}`).join("\n");
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
  return { nodes, pids: () => nodes.flatMap((n) => n.pids), stop };
}

async function waitHealthy(node: ClusterNode): Promise<void> {
  await waitFor(
    async () => {
      if (!node.running()) throw new Error(`${node.name} exited\n${logTail(node.logPath)}`);
      return (await answers(`${node.adminUrl}/health`)) && (await answers(`${node.ingressUrl}/restate/health`));
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 200, what: `${node.name} healthy` },
  );
}
