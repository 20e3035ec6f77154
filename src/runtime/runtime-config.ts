import type { ProcessRegistry, DurabilityTier } from "../registry/port.ts";
import type { ConcurrencyLimits } from "./limits.ts";
import type { LashObserver } from "./observer.ts";
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
  /** Deployment-wide concurrency limits (`LASH_MAX_CONCURRENT`); definitions may add `maxConcurrent`. */
  limits?: ConcurrencyLimits;
  /** Caps on state a caller can make the endpoint keep; absent = the defaults in `DEFAULT_CAPS`. */
  caps?: ResourceCaps;
  /** Metrics and trace hooks (none when absent). */
  observer?: LashObserver;
  /** Session conversations, read by `LashProcesses/session` (and written by the built-in runner). */
  sessions?: SessionStore;
}

export interface ResourceCaps {
  /** Signals are refused once a process has this many events. */
  eventsPerProcess: number;
  /** New registrations are refused while a session has this many live (non-terminal) processes. */
  processesPerSession: number;
}
