import type { PruneOptions, PruneResult } from "./maintenance-rules.ts";
import type { EventAppend, ProcessAwaitOutput, ProcessEvent, ProcessRecord, ProcessRegistrationInput, ProcessStatus } from "../model/index.ts";

/** `inline`: lost with the process (memory). `durable`: survives a crash (SQLite, PostgreSQL). */
export type DurabilityTier = "inline" | "durable";

export interface RegisterResult {
  record: ProcessRecord;
  /** false when an identical registration already existed (idempotent retry). */
  created: boolean;
  /**
   * With `startRun`: a cancel stands for this id (a `process.cancel_requested` on the row,
   * or a cancel recorded before the id was registered that had not expired when the row
   * was created). The row is then NOT marked started: the run ends `cancelled` unstarted.
   */
  cancelRequested?: CancelRequest;
  /**
   * With `startRun`: the row was already marked started under this very key (the same run,
   * registering again on a replay). Nothing else is looked at then — not a cancel that came
   * later, not an outcome written since — so a replay takes the path the first try took.
   */
  resumed?: boolean;
}

export interface CancelRequest {
  reason?: string;
}

/**
 * How `requestCancel` found the process: `live` (the request stands: the first one is
 * stored as ONE `process.cancel_requested`, later ones add nothing; `runKey` is the
 * replay key of the latest `process.started`, i.e. `<run invocation id>/<attempt>`),
 * `terminal` (nothing to cancel), `unregistered` (kept until `expiresAtMs` for a start
 * that is on its way; expired requests are deleted).
 */
export type CancelRequestResult = { state: "live"; runKey?: string } | { state: "terminal" } | { state: "unregistered" };

/** How `complete` was taken: the first writer wins, later calls learn which outcome stands. */
export type CompleteDisposition = "applied" | "already_applied" | "superseded";

export interface CompleteResult {
  disposition: CompleteDisposition;
  record: ProcessRecord;
  /** The outcome that stands (the first one written). */
  outcome: ProcessAwaitOutput;
  /** The one terminal event. */
  event: ProcessEvent;
  /** Whether a caller waits for the outcome (`markAwaited` before the outcome was written). */
  awaited: boolean;
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
export interface RegisterOptions {
  /**
   * Mark a live row started under this replay key, or under the key for the row's attempt
   * (a new row's is 1): a run learns its attempt and starts in one registry call.
   *
   * A durable adapter may answer this write before it is on disk (SQLite does: the run
   * goes on while the WAL is synced off the event loop, about a millisecond). Only the run
   * acts on the answer, and writes reach the disk in commit order, so a power cut that
   * loses the start loses every write that read it too: the run's replay registers again
   * and finds its row as its first try did. A reader may have seen the start; no
   * registration, cancel, signal or outcome whose caller was answered is lost. A crash of
   * the endpoint loses nothing (the commit is in the OS's page cache).
   */
  startRun?: string | ((attempt: number) => string);
  /**
   * Refuse a NEW row (`resource_limit`) when its session already owns this many live
   * processes, counted in the same write; re-registering an existing id always passes.
   */
  sessionCap?: number;
}

export interface ProcessRegistry {
  /** Adapter kind, e.g. `memory`, `sqlite`, `postgres`. */
  readonly kind: string;
  readonly durabilityTier: DurabilityTier;

  /**
   * Same content -> the existing row; other content under the id -> `registration_conflict`.
   * With `startRun`, a live row is also marked started under that key, as `markStarted`
   * does, in the same write (one commit instead of two on the hot path of every run).
   */
  register(registration: ProcessRegistrationInput, opts?: RegisterOptions): Promise<RegisterResult>;
  get(id: string): Promise<ProcessRecord | undefined>;
  /**
   * `get`, after noting on a live row that a caller waits for its outcome: `complete` then
   * answers `awaited: true`, and the run releases the waiter. Linearizable with `complete`:
   * either the mark comes first, or the row read here is already terminal.
   */
  markAwaited(id: string): Promise<ProcessRecord | undefined>;

  /**
   * Marks a run as started: status `running` and one `process.started` event per
   * `replayKey` (the run's invocation id), so a retried step appends nothing.
   * A terminal row is returned unchanged.
   */
  markStarted(id: string, replayKey: string): Promise<ProcessRecord>;
  /** `running` <-> `waiting` (or `queued`: waiting for a concurrency slot) on a live row; a terminal row is left alone. */
  setStatus(id: string, status: "queued" | "running" | "waiting"): Promise<void>;
  /**
   * Recovery resubmits a run: `attempt + 1`, status back to `pending`. With `fromAttempt`
   * it is a compare-and-set: a live row whose attempt is no longer `fromAttempt` (another
   * sweeper got there first) is left alone and `stale_attempt` (409) is thrown, so two
   * sweeps never count one failure twice. A terminal row is returned unchanged.
   */
  recordRetry(id: string, opts?: { fromAttempt?: number }): Promise<ProcessRecord>;

  /**
   * Records a cancel request for `id`, atomically with reading how the process stands
   * (see `CancelRequestResult`). Linearizable with `register({ startRun })`: either the
   * register sees the request, or this call sees the run's `process.started`.
   */
  requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Promise<CancelRequestResult>;

  /** Deletes cancel requests for unregistered ids that expired before `nowMs`; returns how many. */
  dropExpiredCancelRequests(nowMs: number): Promise<number>;

  appendEvent(id: string, event: EventAppend): Promise<ProcessEvent>;
  /** How many events of `type` have a sequence <= `upToSequence` (a signal's ordinal). */
  countEvents(id: string, type: string, upToSequence: number): Promise<number>;
  /**
   * Writes the terminal event and status atomically, exactly once. `replayKey`
   * (the writer's invocation id) is stored on the terminal event, so a retried
   * writer can tell that the standing outcome is its own. A standing cancel request
   * wins over any offered outcome (`cancelWins` in rules.ts).
   */
  complete(id: string, output: ProcessAwaitOutput, opts?: { replayKey?: string }): Promise<CompleteResult>;

  /** Events with sequence > `after`, in order, at most `limit`. */
  eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]>;
  /** First event of `type` (any type when undefined) after `after`; `undefined` on timeout. */
  waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined>;

  /** Non-terminal rows in id order, keyset-paged. */
  listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>>;
  list(filter?: ListFilter): Promise<Page<ProcessRecord>>;
  /** Live (non-terminal) processes of `sessionId`, counted up to `upTo` (enough to enforce a cap cheaply). */
  countSessionProcesses(sessionId: string, upTo: number): Promise<number>;

  /**
   * Retention: deletes finished (terminal) rows last updated more than `olderThanMs` ago,
   * oldest first, with all their events, in batches; at most `limit` rows per call
   * (`more` says whether to call again). Live rows are never touched. A pruned id is
   * unknown afterwards (`get` -> undefined) and may be registered again.
   */
  prune(opts: PruneOptions): Promise<PruneResult>;

  close(): Promise<void>;
}
