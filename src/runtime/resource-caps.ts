import { LashError } from "../model/index.ts";
import type { ProcessRegistry } from "../registry/port.ts";
import type { ResourceCaps } from "./runtime-config.ts";

export const DEFAULT_CAPS: ResourceCaps = { eventsPerProcess: 10_000, processesPerSession: 10_000 };

/** Refuses a signal once the process holds `eventsPerProcess` events (sequences are gap-free, so one indexed lookup). */
export async function checkEventCap(registry: ProcessRegistry, id: string, caps: ResourceCaps = DEFAULT_CAPS): Promise<void> {
  const cap = caps.eventsPerProcess;
  if ((await registry.eventsAfter(id, cap - 1, 1)).length === 0) return;
  throw new LashError("resource_limit", `process "${id}" already holds ${cap} events, the cap (LASH_MAX_EVENTS_PER_PROCESS); no more signals are accepted`, {
    field: "name",
  });
}

/** Refuses a NEW registration once its session owns `processesPerSession` processes; re-registering an existing id passes. */
export async function checkSessionCap(registry: ProcessRegistry, id: string, sessionId: string, caps: ResourceCaps = DEFAULT_CAPS): Promise<void> {
  const cap = caps.processesPerSession;
  if ((await registry.countSessionProcesses(sessionId, cap)) < cap) return;
  if ((await registry.get(id)) !== undefined) return;
  throw new LashError(
    "resource_limit",
    `session "${sessionId}" already owns ${cap} processes, the cap (LASH_MAX_PROCESSES_PER_SESSION); prune finished ones (lashctl prune) or raise the cap`,
    { field: "registration.provenance.ownerScope.sessionId" },
  );
}
