import type { ProcessRecord } from "./record.ts";

/** Header names whose values are credentials: never returned by `get`/`list`/`status` nor logged. */
export const SENSITIVE_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token|x-csrf-token|x-amz-security-token)$|token|secret|password|api[-_]?key/i;

export const REDACTED = "[redacted]";

/**
 * What the read handlers return: the record with every literal value of a
 * sensitive header in a `tool_call`'s `args.headers` replaced by `"[redacted]"`.
 * `{ "$env": "NAME" }` references are kept (they name a secret, they are not one).
 * The stored row is unchanged (its content hash covers the real registration).
 */
export function redactRecord(record: ProcessRecord): ProcessRecord {
  if (record.input.type !== "tool_call") return record;
  const args = record.input.call.args;
  if (args === null || typeof args !== "object" || Array.isArray(args)) return record;
  const headers = (args as Record<string, unknown>).headers;
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return record;
  const redacted = redactHeaders(headers as Record<string, unknown>);
  if (redacted === headers) return record;
  return { ...record, input: { ...record.input, call: { ...record.input.call, args: { ...args, headers: redacted } as never } } };
}

/** The headers with sensitive literal values replaced; the same object when nothing was. */
export function redactHeaders<T>(headers: Record<string, T>): Record<string, T | string> {
  let changed = false;
  const out: Record<string, T | string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string" && SENSITIVE_HEADER.test(name)) {
      out[name] = REDACTED;
      changed = true;
    } else {
      out[name] = value;
    }
  }
  return changed ? out : headers;
}
