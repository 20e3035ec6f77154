export * from "./port.ts";
export { MemoryRegistry } from "./memory-registry.ts";
export { SqliteRegistry, type SqliteRegistryOptions } from "./sqlite-registry.ts";
export { openRegistry } from "./open-registry.ts";
export { MIGRATIONS, BACKEND_PROFILES, type Migration, type Dialect, type BackendProfile } from "./migrations.ts";
// PostgresRegistry is deliberately not re-exported: `openRegistry("postgres://…")`
// imports it on demand, so hosts on SQLite or memory never load `pg`.
