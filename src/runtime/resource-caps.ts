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

/** The live processes a session may own: `register({ sessionCap })` refuses a NEW row past it. */
export function sessionCapOf(caps: ResourceCaps = DEFAULT_CAPS): number {
  return caps.processesPerSession;
}
