/**
 * How a `postgres://…` registry URL becomes connection settings. Two parameters
 * are lash's own and are removed before the URL reaches `pg`:
 * - `?schema=<name>`: the schema that holds the lash tables (created if missing);
 *   every pooled connection gets it as its `search_path`. Default: the server's
 *   `search_path` (usually `public`).
 * - `?pool=<n>`: the pool size, 1..1000, default 10. Each registry also keeps one
 *   extra connection for LISTEN, so an endpoint uses at most `pool + 1` connections.
 * Every other parameter (`sslmode`, `host=/socket/dir`, …) is passed to `pg` as is;
 * an `options=` parameter is kept and lash's session settings are appended to it.
 * Error messages never echo the URL: it may carry a password.
 */
import { LashError } from "../model/index.ts";

export const DEFAULT_POOL_SIZE = 10;
export const MAX_POOL_SIZE = 1000;
export const DEFAULT_APPLICATION_NAME = "lash-processes";
/**
 * A transaction of the registry lasts milliseconds. One left open by an endpoint that
 * vanished without closing its socket (a network partition, a frozen VM) would hold its
 * process row lock until TCP keepalive notices, hours by default; the server ends such
 * a session after this long instead.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/** Letters, digits and `_`, not starting with a digit, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1). */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface PostgresSettings {
  /** The URL without lash's own parameters. */
  connectionString: string;
  schema: string | undefined;
  poolSize: number;
  applicationName: string;
  /** The `options` startup parameter: the URL's own, then lash's session settings. */
  sessionOptions: string;
}

export function parsePostgresUrl(url: string): PostgresSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid("not a valid URL; expected postgres://user[:password]@host[:port]/database[?schema=…&pool=…]");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") throw invalid(`expected postgres:// or postgresql://, got ${parsed.protocol}//`);
  const params = parsed.searchParams;
  const schema = params.get("schema") ?? undefined;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw invalid("?schema= must be 1-63 letters, digits or _ and not start with a digit");
  }
  const poolParam = params.get("pool");
  const poolSize = poolParam === null ? DEFAULT_POOL_SIZE : Number(poolParam);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > MAX_POOL_SIZE) {
    throw invalid(`?pool= must be an integer from 1 to ${MAX_POOL_SIZE}`);
  }
  const applicationName = params.get("application_name") ?? DEFAULT_APPLICATION_NAME;
  const sessionOptions = [
    params.get("options") ?? "",
    schema === undefined ? "" : searchPathOption(schema),
    `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
  ]
    .filter((o) => o.length > 0)
    .join(" ");
  for (const own of ["schema", "pool", "options"]) params.delete(own);
  params.delete("application_name"); // set explicitly, so the listener can get its own name
  return { connectionString: parsed.toString(), schema, poolSize, applicationName, sessionOptions };
}

/** A double-quoted SQL identifier (`"` doubled), for the few places a name cannot be a parameter. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The `options` startup parameter that pins `search_path` to the schema for the whole
 * session (no extra round trip per connection). The schema name is already restricted
 * to `[A-Za-z0-9_]`, so it needs no backslash escaping in the options string; the
 * double quotes keep its case.
 */
export function searchPathOption(schema: string): string {
  return `-c search_path=${quoteIdent(schema)}`;
}

function invalid(why: string): LashError {
  return new LashError("invalid_input", `registryUrl: ${why}`, { field: "registryUrl" });
}
