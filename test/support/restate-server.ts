/**
 * The project's tests start restate-server with the testing kit's launcher
 * (`src/testing/restate-server.ts`); this adds the repository root and the
 * `LASH_KEEP_TEST_DATA=1` switch that keeps a failed run's data dir, and reads a journal
 * (`journalOf`).
 */
import { fileURLToPath } from "node:url";
import { adminQuery, startRestateServer as startKitServer, type RestateServer, type StartRestateServerOptions } from "../../src/testing/restate-server.ts";
import { keepTestData } from "./child.ts";

export { adminQuery, registerDeployment, waitFor, type RestateServer } from "../../src/testing/restate-server.ts";

/** One journal entry, as Restate's `sys_journal` table shows it. */
export interface JournalEntry {
  entry_type: string;
  name?: string;
  entry_json?: string;
}

/**
 * The journal of every invocation of `target` (any of service, handler and key given), from
 * Restate's `sys_journal` through the admin `/query`, each invocation's entries in journal order.
 */
export async function journalOf(admin: string, target: { service?: string; handler?: string; key?: string }): Promise<JournalEntry[]> {
  const columns = { service: "target_service_name", handler: "target_handler_name", key: "target_service_key" } as const;
  const where = Object.entries(target).map(([field, value]) => {
    if (/'/.test(value)) throw new Error(`journalOf: ${field} must not contain a quote: ${value}`);
    return `i.${columns[field as keyof typeof columns]} = '${value}'`;
  });
  if (where.length === 0) throw new Error("journalOf: give a service, handler or key");
  return adminQuery<JournalEntry>(
    admin,
    `SELECT j.entry_type, j.name, j.entry_json FROM sys_journal j JOIN sys_invocation i ON j.id = i.id WHERE ${where.join(" AND ")} ORDER BY i.id, j.index`,
  );
}

/** Repository root, derived from this file's location (test/support/). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function startRestateServer(opts: StartRestateServerOptions = {}): Promise<RestateServer> {
  return startKitServer({ keepData: keepTestData(), projectDir: REPO_ROOT, ...opts });
}
