import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { isTerminalEventType, type ProcessEvent, type ProcessRecord } from "../model/index.ts";

/** Where wake notifications go: `<service>/<ownerScope.sessionId>/<handler>` (a virtual object). */
export const WakeTarget = z.object({ service: z.string().min(1), handler: z.string().min(1) });
export type WakeTarget = z.infer<typeof WakeTarget>;

export interface WakeMessage {
  processId: string;
  event: ProcessEvent;
}

/** Terminal events always wake; others only when their declared type has `semantics.wake`. */
export function wakes(record: Pick<ProcessRecord, "eventTypes">, type: string): boolean {
  return isTerminalEventType(type) || record.eventTypes.some((d) => d.name === type && d.semantics?.wake !== undefined);
}

/**
 * Sends the wake one-way. The send is a journal entry, so it happens exactly
 * once per event even when the handler is replayed.
 */
export function sendWake(
  ctx: restate.Context,
  target: WakeTarget | undefined,
  record: Pick<ProcessRecord, "eventTypes" | "provenance">,
  event: ProcessEvent,
): void {
  const sessionId = record.provenance.ownerScope.sessionId;
  if (target === undefined || sessionId.length === 0 || !wakes(record, event.type)) return;
  ctx.genericSend<WakeMessage>({
    service: target.service,
    method: target.handler,
    key: sessionId,
    parameter: { processId: event.processId, event },
    inputSerde: restate.serde.json as restate.Serde<WakeMessage>,
    name: `wake ${event.type}`,
  });
}
