import { LashError } from "../model/index.ts";
import { MemoryRegistry } from "./memory-registry.ts";
import type { ProcessRegistry } from "./port.ts";
import { SqliteRegistry } from "./sqlite-registry.ts";

/**
 * Opens the registry a URL names:
 * - `memory:` — in-process, lost on exit (`inline` durability);
 * - `sqlite:<path>` — a file, relative to the working directory or absolute
 *   (`sqlite:./.lash/registry.db`, `sqlite:/var/lib/lash.db`, also `sqlite:///var/lib/lash.db`),
 *   or `sqlite::memory:`;
 * - `postgres://…` / `postgresql://…` — loaded on demand, so `pg` is only imported when used.
 */
export async function openRegistry(url: string): Promise<ProcessRegistry> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "memory":
      if (url !== "memory:") throw invalidUrl(url, "memory: takes nothing after the colon");
      return new MemoryRegistry();
    case "sqlite":
      return SqliteRegistry.open(sqlitePath(url));
    case "postgres":
    case "postgresql": {
      const { PostgresRegistry } = await import("./postgres-registry.ts").catch((err: unknown) => {
        throw isMissingPg(err) ? pgMissing(err) : err;
      });
      return PostgresRegistry.open(url);
    }
    default:
      throw invalidUrl(url, "expected memory:, sqlite:<path> or postgres://…");
  }
}

/** `sqlite:<path>`; a `//` right after the scheme is dropped so `sqlite:///abs/x.db` also works. */
function sqlitePath(url: string): string {
  let path = url.slice("sqlite:".length);
  if (path.startsWith("//")) path = path.slice(2);
  if (path.trim().length === 0) throw invalidUrl(url, "sqlite: needs a file path, e.g. sqlite:./.lash/registry.db");
  return path;
}

/** `pg` is an optional peer dependency: only a PostgreSQL registry needs it. */
function isMissingPg(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === "ERR_MODULE_NOT_FOUND" && typeof e.message === "string" && /['"]pg['"]/.test(e.message);
}

function pgMissing(cause: unknown): Error {
  return new Error("a postgres:// registry needs the package `pg`, which is not installed: npm install pg", { cause });
}

/** Never echoes the URL itself: a postgres URL may carry a password. */
function invalidUrl(url: string, why: string): LashError {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? "(no scheme)";
  return new LashError("invalid_input", `registryUrl: unsupported registry URL with scheme ${scheme}; ${why}`, { field: "registryUrl" });
}
