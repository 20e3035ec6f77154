import type { ProcessRegistry } from "./port.ts";

/**
 * Placeholder for the PostgreSQL adapter (written separately, on `pg`, from the
 * `postgres` statements in `migrations.ts`). It exists so `openRegistry` can load it
 * lazily, which keeps `pg` out of hosts that use SQLite or memory.
 */
export class PostgresRegistry {
  static async open(_url: string): Promise<ProcessRegistry> {
    throw new Error("PostgreSQL registry not implemented yet");
  }
}
