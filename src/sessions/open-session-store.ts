import { LashError } from "../model/index.ts";
import { MemorySessionStore } from "./memory-session-store.ts";
import type { SessionStore } from "./session-store.ts";
import { SqliteSessionStore } from "./sqlite-session-store.ts";

/**
 * Opens the session store in the database a registry URL names (`memory:`,
 * `sqlite:<path>`, `postgres://…`): sessions live beside the processes, in the same
 * migrations. `sqlite::memory:` gets a private in-memory database of its own.
 */
export async function openSessionStore(url: string): Promise<SessionStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "memory":
      return new MemorySessionStore();
    case "sqlite": {
      let path = url.slice("sqlite:".length);
      if (path.startsWith("//")) path = path.slice(2);
      return SqliteSessionStore.open(path);
    }
    case "postgres":
    case "postgresql": {
      const { PostgresSessionStore } = await import("./postgres-session-store.ts");
      return PostgresSessionStore.open(url);
    }
    default:
      throw new LashError("invalid_input", "registryUrl: expected memory:, sqlite:<path> or postgres://…", { field: "registryUrl" });
  }
}
