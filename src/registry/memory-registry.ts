import {
  CoreEventTypes,
  isTerminalStatus,
  statusOfOutcome,
  terminalEventType,
  type EventAppend,
  type ProcessAwaitOutput,
  type ProcessEvent,
  type ProcessRecord,
  type ProcessRegistrationInput,
} from "../model/index.ts";
import { EventWaiters } from "./event-waiters.ts";
import { compareForOrder, cursorAfter, isAfterCursor, type ListOrder } from "./list-order.ts";
import { assertAttempt, parsePruneOptions, type PruneOptions, type PruneResult } from "./maintenance-rules.ts";
import type { CancelRequest, CancelRequestResult, CompleteResult, ListFilter, Page, ProcessRegistry, RegisterOptions, RegisterResult } from "./port.ts";
import {
  assertSameRegistration,
  cancelRequestOf,
  cancelWins,
  tombstoneApplies,
  checkAppend,
  parseAppend,
  dispositionOf,
  matchesFilter,
  newRecord,
  notFound,
  pageLimit,
  parseOutput,
  prepareRegistration,
  replayOf,
  sessionCapReached,
  startRunKey,
  withPayloadCheck,
  type CheckedAppend,
} from "./rules.ts";

interface Entry {
  record: ProcessRecord;
  events: ProcessEvent[];
  /** A caller waits for the outcome (`markAwaited`). */
  awaited?: boolean;
}

/**
 * The in-memory registry: for tests and inline (non-durable) hosts. A durable
 * deployment refuses it (`durabilityTier: "inline"`). Returns copies, never
 * its own objects.
 */
export class MemoryRegistry implements ProcessRegistry {
  readonly kind = "memory";
  readonly durabilityTier = "inline" as const;
  readonly #entries = new Map<string, Entry>();
  readonly #waiters = new EventWaiters();
  /** The live (non-terminal) ids of each session, for the session cap without a scan of every row. */
  readonly #liveBySession = new Map<string, Set<string>>();
  /** Cancels recorded for ids not registered yet: id -> request and expiry. */
  readonly #tombstones = new Map<string, CancelRequest & { expiresAtMs: number }>();

  async register(input: ProcessRegistrationInput, opts: RegisterOptions = {}): Promise<RegisterResult> {
    const prepared = prepareRegistration(input);
    const existing = this.#entries.get(prepared.registration.id);
    const sessionId = prepared.registration.provenance.ownerScope.sessionId;
    if (existing !== undefined) assertSameRegistration(existing.record, prepared.hash);
    else if (opts.sessionCap !== undefined && this.#countLive(sessionId, opts.sessionCap) >= opts.sessionCap)
      throw sessionCapReached(sessionId, opts.sessionCap);
    const created = existing === undefined;
    const entry = existing ?? { record: newRecord(prepared, Date.now()), events: [] };
    if (created) {
      this.#entries.set(entry.record.id, entry);
      this.#liveIn(sessionId).add(entry.record.id);
    }
    if (opts.startRun === undefined) return { record: structuredClone(entry.record), created };
    const key = startRunKey(opts.startRun, entry.record.attempt);
    if (entry.events.some((e) => e.type === CoreEventTypes.started && e.replayKey === key)) {
      return { record: structuredClone(entry.record), created, resumed: true };
    }
    const cancelRequested = this.#standingCancel(entry);
    if (cancelRequested === undefined || isTerminalStatus(entry.record.status)) {
      this.#start(entry, key);
      return { record: structuredClone(entry.record), created };
    }
    return { record: structuredClone(entry.record), created, cancelRequested };
  }

  async requestCancel(id: string, request: CancelRequest & { replayKey: string; expiresAtMs: number }): Promise<CancelRequestResult> {
    const now = Date.now();
    for (const [key, tombstone] of this.#tombstones) if (tombstone.expiresAtMs < now) this.#tombstones.delete(key);
    const entry = this.#entries.get(id);
    const payload: Record<string, string> = request.reason === undefined ? {} : { reason: request.reason };
    if (entry === undefined) {
      if (!this.#tombstones.has(id)) this.#tombstones.set(id, { ...payload, expiresAtMs: request.expiresAtMs });
      return { state: "unregistered" };
    }
    if (isTerminalStatus(entry.record.status)) return { state: "terminal" };
    if (!entry.events.some((e) => e.type === CoreEventTypes.cancelRequested)) {
      this.#push(entry, { type: CoreEventTypes.cancelRequested, payload, replayKey: request.replayKey });
    }
    const runKey = entry.events.findLast((e) => e.type === CoreEventTypes.started)?.replayKey;
    return runKey === undefined ? { state: "live" } : { state: "live", runKey };
  }

  async dropExpiredCancelRequests(nowMs: number): Promise<number> {
    let dropped = 0;
    for (const [key, tombstone] of this.#tombstones) {
      if (tombstone.expiresAtMs < nowMs) {
        this.#tombstones.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  #standingCancel(entry: Entry): CancelRequest | undefined {
    const event = entry.events.find((e) => e.type === CoreEventTypes.cancelRequested);
    if (event !== undefined) return cancelRequestOf(event.payload);
    const tombstone = this.#tombstones.get(entry.record.id);
    if (tombstone === undefined || !tombstoneApplies(tombstone.expiresAtMs, entry.record.createdAtMs)) return undefined;
    return tombstone.reason === undefined ? {} : { reason: tombstone.reason };
  }

  async get(id: string): Promise<ProcessRecord | undefined> {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : structuredClone(entry.record);
  }

  async markAwaited(id: string): Promise<ProcessRecord | undefined> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (!isTerminalStatus(entry.record.status)) entry.awaited = true;
    return structuredClone(entry.record);
  }

  async markStarted(id: string, replayKey: string): Promise<ProcessRecord> {
    const entry = this.#entry(id);
    this.#start(entry, replayKey);
    return structuredClone(entry.record);
  }

  #start(entry: Entry, replayKey: string): void {
    const { record } = entry;
    if (!isTerminalStatus(record.status) && !entry.events.some((e) => e.replayKey === replayKey)) {
      this.#push(entry, { type: CoreEventTypes.started, payload: { attempt: record.attempt }, replayKey });
      this.#touch(record, "running");
    }
  }

  async setStatus(id: string, status: "queued" | "running" | "waiting"): Promise<void> {
    const { record } = this.#entry(id);
    if (!isTerminalStatus(record.status) && record.status !== status) this.#touch(record, status);
  }

  async recordRetry(id: string, opts: { fromAttempt?: number } = {}): Promise<ProcessRecord> {
    const { record } = this.#entry(id);
    if (!isTerminalStatus(record.status)) {
      assertAttempt(record, opts.fromAttempt);
      record.attempt += 1;
      this.#touch(record, "pending");
    }
    return structuredClone(record);
  }

  async appendEvent(id: string, input: EventAppend): Promise<ProcessEvent> {
    return withPayloadCheck((prechecked) => this.#appendOnce(id, input, prechecked));
  }

  #appendOnce(id: string, input: EventAppend, prechecked: string | undefined): ProcessEvent {
    const entry = this.#entry(id);
    const append = parseAppend(input);
    const previous = append.replayKey === undefined ? undefined : entry.events.find((e) => e.replayKey === append.replayKey);
    if (previous !== undefined) return structuredClone(replayOf(previous, append));
    return structuredClone(this.#push(entry, checkAppend(entry.record, append, prechecked)));
  }

  async countEvents(id: string, type: string, upToSequence: number): Promise<number> {
    return this.#entry(id).events.filter((e) => e.type === type && e.sequence <= upToSequence).length;
  }

  async complete(id: string, output: ProcessAwaitOutput, opts: { replayKey?: string } = {}): Promise<CompleteResult> {
    const entry = this.#entry(id);
    const { record } = entry;
    if (record.outcome !== undefined) {
      const event = entry.events.find((e) => e.type === terminalEventType(record.outcome!))!;
      const disposition = dispositionOf(record.outcome, parseOutput(output));
      return structuredClone({ disposition, record, outcome: record.outcome, event, awaited: entry.awaited === true });
    }
    const requested = entry.events.find((e) => e.type === CoreEventTypes.cancelRequested);
    const offered = cancelWins(parseOutput(output), requested === undefined ? undefined : cancelRequestOf(requested.payload));
    const writer = opts.replayKey === undefined ? {} : { replayKey: opts.replayKey };
    const event = this.#push(entry, { type: terminalEventType(offered), payload: offered, ...writer });
    record.outcome = offered;
    this.#touch(record, statusOfOutcome(offered));
    return structuredClone({ disposition: "applied" as const, record, outcome: offered, event, awaited: entry.awaited === true });
  }

  async eventsAfter(id: string, after: number, limit?: number): Promise<ProcessEvent[]> {
    const events = this.#entry(id).events.filter((e) => e.sequence > after);
    return structuredClone(events.slice(0, pageLimit(limit)));
  }

  async waitEventAfter(id: string, type: string | undefined, after: number, timeoutMs: number): Promise<ProcessEvent | undefined> {
    this.#entry(id);
    return this.#waiters.wait(id, timeoutMs, async () => {
      const event = this.#entries.get(id)?.events.find((e) => e.sequence > after && (type === undefined || e.type === type));
      return event === undefined ? undefined : structuredClone(event);
    });
  }

  async listNonTerminal(limit: number, cursor?: string): Promise<Page<ProcessRecord>> {
    return this.#page((r) => !isTerminalStatus(r.status), pageLimit(limit), cursor);
  }

  async list(filter: ListFilter = {}): Promise<Page<ProcessRecord>> {
    return this.#page((r) => matchesFilter(r, filter), pageLimit(filter.limit), filter.cursor, filter.order);
  }

  async prune(input: PruneOptions): Promise<PruneResult> {
    const { limit, dryRun, cutoffMs } = parsePruneOptions(input);
    const matching = [...this.#entries.values()]
      .map((e) => e.record)
      .filter((r) => isTerminalStatus(r.status) && r.updatedAtMs < cutoffMs)
      .sort((a, b) => a.updatedAtMs - b.updatedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const ids = matching.slice(0, limit).map((r) => r.id);
    if (!dryRun) for (const id of ids) this.#entries.delete(id);
    return { pruned: ids.length, ids, more: matching.length > limit, cutoffMs };
  }

  async countSessionProcesses(sessionId: string, upTo: number): Promise<number> {
    return this.#countLive(sessionId, upTo);
  }

  #countLive(sessionId: string, upTo: number): number {
    return Math.min(this.#liveBySession.get(sessionId)?.size ?? 0, upTo);
  }

  #liveIn(sessionId: string): Set<string> {
    let live = this.#liveBySession.get(sessionId);
    if (live === undefined) {
      live = new Set();
      this.#liveBySession.set(sessionId, live);
    }
    return live;
  }

  async close(): Promise<void> {}

  #page(keep: (r: ProcessRecord) => boolean, limit: number, cursor: string | undefined, order?: ListOrder): Page<ProcessRecord> {
    const items = [...this.#entries.values()]
      .map((e) => e.record)
      .filter((r) => isAfterCursor(r, cursor, order) && keep(r))
      .sort(compareForOrder(order))
      .slice(0, limit);
    const last = items.at(-1);
    return { items: structuredClone(items), ...(items.length === limit && last ? { nextCursor: cursorAfter(last, order) } : {}) };
  }

  #entry(id: string): Entry {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    return entry;
  }

  #push(entry: Entry, append: CheckedAppend): ProcessEvent {
    const event: ProcessEvent = { processId: entry.record.id, sequence: entry.events.length + 1, occurredAtMs: Date.now(), ...append };
    entry.events.push(event);
    entry.record.updatedAtMs = event.occurredAtMs;
    this.#waiters.notify(entry.record.id);
    return event;
  }

  /** Every status change goes through here (a row is live from its insert until its first terminal status). */
  #touch(record: ProcessRecord, status: ProcessRecord["status"]): void {
    record.status = status;
    record.updatedAtMs = Date.now();
    if (isTerminalStatus(status)) {
      const sessionId = record.provenance.ownerScope.sessionId;
      const live = this.#liveBySession.get(sessionId);
      live?.delete(record.id);
      if (live?.size === 0) this.#liveBySession.delete(sessionId);
    }
  }
}
