/**
 * Child-process entry: the lash services (std + bench plugin) on 127.0.0.1:PORT,
 * wired like `src/endpoint.ts` (same env config, same retry policy) but with the
 * bench plugin. With `LASH_BENCH_CONTROL_DIR` set, registry calls are counted and
 * SIGUSR2 brackets a profiled window (see lib/bench-control.ts).
 */
import { readEnvConfig } from "../src/config.ts";
import { DatabaseSync } from "node:sqlite";
import { openRegistry } from "../src/registry/open-registry.ts";
import type { ProcessRegistry } from "../src/registry/port.ts";
import { SqliteRegistry } from "../src/registry/sqlite-registry.ts";
import { createServices } from "../src/services/create-services.ts";
import { DEFAULT_RETRY_POLICY } from "../src/runtime/restate-handlers.ts";
import { benchPlugin } from "./bench-plugin.ts";
import { countingProxy, installBenchControl, type Counters } from "./lib/bench-control.ts";
import { serveLocal } from "./lib/serve-local.ts";

const config = readEnvConfig();
const opened = await openBenchRegistry(config.LASH_REGISTRY_URL, process.env.LASH_BENCH_SQLITE_SYNC);
const counters: Counters = {};
const registry = process.env.LASH_BENCH_CONTROL_DIR ? countingProxy(opened, counters) : opened;
installBenchControl("lash", counters);

const services = createServices({
  registry,
  plugins: [benchPlugin],
  hostProfileId: config.LASH_HOST_PROFILE,
  durability: config.LASH_DURABILITY,
  restate: { adminUrl: config.RESTATE_ADMIN_URL, ingressUrl: config.RESTATE_INGRESS_URL },
  workflow: { retryPolicy: DEFAULT_RETRY_POLICY },
});
await serveLocal(services.all, config.PORT, () => registry.close());

/**
 * The registry as the product opens it, or, for a what-if run only, the same
 * SQLite adapter over a connection with another `synchronous` setting (the
 * adapter's constructor takes an already migrated database).
 */
async function openBenchRegistry(url: string, synchronous: string | undefined): Promise<ProcessRegistry> {
  if (synchronous === undefined || !url.startsWith("sqlite:")) return openRegistry(url);
  if (!/^(OFF|NORMAL|FULL|EXTRA)$/.test(synchronous)) throw new Error(`LASH_BENCH_SQLITE_SYNC: expected OFF|NORMAL|FULL|EXTRA, got ${synchronous}`);
  const migrated = (await openRegistry(url)) as SqliteRegistry;
  await migrated.close();
  const db = new DatabaseSync(migrated.path, { timeout: 5000, enableForeignKeyConstraints: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  db.exec("PRAGMA foreign_keys = ON");
  return new SqliteRegistry(db, migrated.path);
}
