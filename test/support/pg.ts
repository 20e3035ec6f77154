/**
 * PostgreSQL for tests: the server at `LASH_TEST_PG_URL` (default
 * `postgres://postgres@127.0.0.1:5432/test`), one fresh schema per test, dropped
 * afterwards. Where no server answers, `requirePostgres()` throws a message that says
 * how to point the tests at one: the PostgreSQL tests fail, they never skip silently.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_PG_URL = process.env.LASH_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** The URL with any password masked, for messages. */
export function redactedUrl(url: string = TEST_PG_URL): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable LASH_TEST_PG_URL)";
  }
}

let reachable: Promise<void> | undefined;

/** Resolves once the test server answered a query; rejects with instructions otherwise (checked once per test file). */
export function requirePostgres(): Promise<void> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5_000 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${redactedUrl()} (${(err as Error).message}). ` +
          "The PostgreSQL registry tests need a real server: start one (e.g. `apt-get install postgresql`, trust auth, " +
          "`createdb test`) or point LASH_TEST_PG_URL at one, e.g. LASH_TEST_PG_URL=postgres://user:password@host:5432/db.",
        { cause: err },
      );
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

/** Runs one statement as the test server's user on a short-lived connection. */
export async function pgQuery<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** `TEST_PG_URL` with query parameters added (e.g. `{ schema, pool: "3" }`). */
export function pgUrl(params: Record<string, string>): string {
  const url = new URL(TEST_PG_URL);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

export interface TestSchema {
  readonly name: string;
  /** Registry URL for this schema, plus any extra parameters. */
  url(extra?: Record<string, string>): string;
  /** `DROP SCHEMA … CASCADE`; close registries on it first. */
  drop(): Promise<void>;
}

/** A schema name no other test uses. The registry creates it on open; `drop()` removes it. */
export async function freshSchema(prefix = "lash_t"): Promise<TestSchema> {
  await requirePostgres();
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  return {
    name,
    url: (extra = {}) => pgUrl({ ...extra, schema: name }),
    drop: async () => {
      await pgQuery(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    },
  };
}
