/**
 * The boundary checks of the seed's process worker, run before anything is
 * written or executed. Each failure is a LashError with a stable code; the
 * services turn it into a TerminalError (never a retry loop).
 */
import { LashError, type ProcessRegistration } from "../model/index.ts";
import { prepareParsedRegistration, type PreparedRegistration } from "../registry/rules.ts";
import type { LashRuntime } from "./runtime-config.ts";

/** The workflow key is the process id: a blank or different key loses its idempotency anchor. */
export function ensureStableProcessId(key: string, registrationId: unknown): void {
  if (typeof registrationId !== "string" || registrationId.trim().length === 0 || key.trim().length === 0) {
    throw new LashError("missing_process_execution_id", "process execution requires a non-blank process id (the workflow key)", {
      field: "registration.id",
    });
  }
  if (key !== registrationId) {
    throw new LashError("process_key_mismatch", `workflow key "${key}" differs from registration.id "${registrationId}"`, {
      field: "registration.id",
    });
  }
}

export function ensureHostProfileMatches(rt: LashRuntime, id: string, hostProfileId: string): void {
  if (hostProfileId.length === 0 || hostProfileId === rt.hostProfileId) return;
  throw new LashError("host_profile_mismatch", `process "${id}" was created for host profile "${hostProfileId}" but this worker is "${rt.hostProfileId}"`, {
    field: "registration.provenance.hostProfileId",
  });
}

/** A durable deployment must not run over an inline store: names the facet. */
export function ensureDurableStoreFacets(rt: LashRuntime): void {
  if (rt.durability === "durable" && rt.registry.durabilityTier !== "durable") {
    throw new LashError(
      "durable_store_required",
      `durable deployment requires a durable ProcessRegistry, but the configured one (${rt.registry.kind}) is inline`,
      { field: "ProcessRegistry" },
    );
  }
}

/**
 * Everything checked before a registration is accepted: key, host profile, store
 * durability, payload schemas, and that a plugin can run it with these arguments.
 * `parsed` is what the handler's serde parsed with `ProcessRegistration` (the schema check).
 */
export function checkRegistration(rt: LashRuntime, key: string, parsed: ProcessRegistration): PreparedRegistration {
  ensureStableProcessId(key, parsed.id);
  ensureDurableStoreFacets(rt);
  const prepared = prepareParsedRegistration(parsed);
  const { registration } = prepared;
  ensureHostProfileMatches(rt, registration.id, registration.provenance.hostProfileId);
  rt.plugins.resolve(registration.input);
  return prepared;
}
