/**
 * The two durable backends the session-turn and MCP tests run on: a fresh SQLite file
 * or a fresh PostgreSQL schema, as a registry URL with the registry and session store
 * opened on it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRegistry } from "../../src/registry/open-registry.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";
import { openSessionStore } from "../../src/sessions/open-session-store.ts";
import type { SessionStore } from "../../src/sessions/session-store.ts";
import { freshSchema } from "./pg.ts";

export const BACKENDS = ["sqlite", "postgres"] as const;
export type Backend = (typeof BACKENDS)[number];

export interface OpenedBackend {
  url: string;
  registry: ProcessRegistry;
  sessions: SessionStore;
  /** Closes both and removes the file or schema. */
  drop(): Promise<void>;
}

export async function openBackend(backend: Backend): Promise<OpenedBackend> {
  let url: string;
  let remove: () => Promise<void>;
  if (backend === "sqlite") {
    const dir = await mkdtemp(join(tmpdir(), "lash-turns-"));
    url = `sqlite:${join(dir, "registry.db")}`;
    remove = () => rm(dir, { recursive: true, force: true });
  } else {
    const schema = await freshSchema();
    url = schema.url();
    remove = () => schema.drop();
  }
  const registry = await openRegistry(url);
  const sessions = await openSessionStore(url);
  return {
    url,
    registry,
    sessions,
    async drop() {
      await registry.close();
      await sessions.close();
      await remove();
    },
  };
}
