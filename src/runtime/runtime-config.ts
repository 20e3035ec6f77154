import type { ProcessRegistry, DurabilityTier } from "../registry/port.ts";
import type { SessionStore } from "../sessions/session-store.ts";
import type { PluginHost } from "./plugin.ts";
import type { ProcessContext } from "./process-context.ts";
import type { WakeTarget } from "./wake.ts";

export interface SessionTurnArgs {
  session: string;
  turnInput: unknown;
  outputContract?: unknown;
}

/** The host's port for `session_turn` processes: runs one sub-agent turn. */
export type SessionTurnRunner = (ctx: ProcessContext<SessionTurnArgs>) => Promise<unknown>;

/** Everything the workflow and services need, injected (no globals, no env reads). */
export interface LashRuntime {
  registry: ProcessRegistry;
  plugins: PluginHost;
  /** This worker's host profile; registrations naming another one are refused. */
  hostProfileId: string;
  /** `durable` (the default on Restate) refuses an inline registry. */
  durability: DurabilityTier;
  wakeTarget?: WakeTarget;
  sessionTurnRunner?: SessionTurnRunner;
  /** Session conversations, read by `LashProcesses/session` (and written by the built-in runner). */
  sessions?: SessionStore;
}
