import type {
  EventAppend,
  ProcessAwaitOutput,
  ProcessEvent,
  ProcessRecord,
  ProcessRegistrationInput,
  ProcessStatus,
} from "../model/index.ts";

/** `inline`: lost with the process (memory). `durable`: survives a crash (SQLite, PostgreSQL). */
export type DurabilityTier = "inline" | "durable";

export interface RegisterResult {
  record: ProcessRecord;
  /** false when an identical registration already existed (idempotent retry). */
  created: boolean;
}

/** How `complete` was taken: the first writer wins, later calls learn which outcome stands. */
export type CompleteDisposition = "applied" | "already_applied" | "superseded";

export interface CompleteResult {
  disposition: CompleteDisposition;
  record: ProcessRecord;
  /** The outcome that stands (the first one written). */
  outcome: ProcessAwaitOutput;
  /** The one terminal event. */
  event: ProcessEvent;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

export interface ListFilter {
  status?: ProcessStatus;
  sessionId?: string;
  /** Only children of this process (`provenance.causedBy` is `{ kind: "process", id }`). */
  parentId?: string;
  /** Only processes of this tool or program (`session_turn` / `external` for those kinds). */
  target?: string;
  /** Only processes whose id contains this text. */
  idContains?: string;
  /** `id` (default): ascending ids. `newest`: newest first (creation time, then id, descending); its cursors are `<createdAtMs>:<id>`. */
  order?: "id" | "newest";
  limit?: number;
  cursor?: string;
}

/**
 * The process registry: rows plus an ordered event log per process.
 *
 * Every write is idempotent and first-writer-wins, because Restate may run any
 * step again after a crash. Adapters differ only in storage; the rules they all
 * follow live in `rules.ts` and are proven by `test/registry-conformance.ts`.
 */
export interface ProcessRegistry {
  /** Adapter kind, e.g. `memory`, `sqlite`, `postgres`. */
  readonly kind: string;
  readonly durabilityTier: DurabilityTier;

  /**
   * Same content -> the existing row; other content under the id -> `registration_conflict`.
   * With `startRun`, a live row is also marked started under that key, as `markStarted`
   * does, in the same write (one commit instead of two on the hot path of every run).
   */
  register(registration: ProcessRegistrationInput, opts?: { startRun?: string }): Promise<RegisterResult>;
  get(id: string): Promise<ProcessRecord | undefined>;

  /**
   * Marks a run as started: status `running` and one `process.started` event per
   * `replayKey` (the run's invocation id), so a retried step appends nothing.
   * A terminal row is returned unchanged.
   */
  markStarted(id: string, replayKey: string): Promise<ProcessRecord>;
  /** `running` <-> `waiting` on a live row; a terminal row is left alone. */
  setStatus(id: string, status: "running" | "waiting"): Promise<void>;
  /** Recovery resubmits a run: `attempt + 1`, status back to `pending`. */
  recordRetry(id: string): Promise<ProcessRecord>;

  appendEvent(id: string, event: EventAppend): Promise<ProcessEvent>;
  /** How many events of `type` have a sequence <= `upToSequence` (a signal's ordinal). */
  countEvents(id: string, type: string, upToSequence: number): Promise<number>;
  /**
   * Writes the terminal event and status atomically, exactly once. `replayKey`
   * (the writer's invocation id) is stored on the terminal event, so a retried
   * writer can tell that the standing outcome is its own.
   */
  complete(id: string, output: ProcessAwaitOutput, opts?: { replayKey?: string }): Promise<CompleteResult>;

  /** Events with sequence > `after`, in order, at most `limit`. */
  eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]>;
  /** First event of `type` (any type when undefined) after `after`; `undefined` on timeout. */
  waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined>;

  /** Non-terminal rows in id order, keyset-paged. */
  listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>>;
  list(filter?: ListFilter): Promise<Page<ProcessRecord>>;

  close(): Promise<void>;
}
