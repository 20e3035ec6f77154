import type * as restate from "@restatedev/restate-sdk";
import type { ProcessRegistry } from "../registry/port.ts";
import type { CancelGate } from "./cancel-gate.ts";

/**
 * Writes a run's status (`waiting` before it waits for a signal or an external completion,
 * `running` after) without a journal entry of its own: one round trip to restate-server and
 * two journal entries less per transition, so a `waitFor` costs what its promise costs.
 *
 * Why a replay may skip the write: the run awaits it before it issues its next command, so
 * wherever a replay still has journaled commands ahead of it, the first execution wrote it
 * (durably: it is not a deferred write) and the row holds that write or a later one of the
 * same run. Once the replay has caught up with the journal, the write happens again, which
 * `setStatus` allows (the same value again, and never over a terminal status). The SDK's
 * `isProcessing` is what `ctx.console` uses to stay quiet during a replay; it decides no
 * command here, only whether a registry write is repeated. An SDK without it: the write is
 * repeated on every replay, which is correct, only slower.
 *
 * Like a durable operation, the write is refused once the run's cancellation was observed
 * (outside a `cleanup`): `gate.refuseIfCancelled` throws `ProcessCancelled`.
 */
export async function writeStatus(ctx: restate.Context, gate: CancelGate, registry: ProcessRegistry, id: string, status: "running" | "waiting"): Promise<void> {
  gate.refuseIfCancelled();
  if (isReplaying(ctx)) return;
  await registry.setStatus(id, status);
}

function isReplaying(ctx: restate.Context): boolean {
  const internal = ctx as Partial<restate.internal.ContextInternal>;
  return typeof internal.isProcessing === "function" && !internal.isProcessing();
}
