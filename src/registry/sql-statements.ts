/**
 * The statement catalogue both SQL adapters share: every statement the registry's
 * algorithms (`sql-algorithms.ts`) run, by NAME, with its parameters and the row shape
 * it decodes to. Each dialect supplies a table with the same names (`sqlite-rows.ts`,
 * `postgres-rows.ts`): its SQL text and a decoder that turns its driver's raw row
 * (SQLite: JSON as text, numbers; PostgreSQL: JSONB objects, BIGINT strings) into the
 * shape here, so an algorithm sees one shape whatever runs it.
 *
 * Why named statements and generators ("sans-IO") rather than an interface with one
 * method per query: SQLite must run a write synchronously inside `GroupCommit` (an
 * `await` inside its transaction would let other callers' reads run in it), PostgreSQL
 * must await each statement. An algorithm written as a generator that YIELDS statement
 * requests (`one`, `all`, `run` below) and receives their results runs under both: the
 * SQLite driver answers it in a plain loop, the PostgreSQL driver awaits each answer.
 *
 * Parameters are positional and numbered in both dialects (`?1` / `$1`), so one
 * parameter list serves both; a dialect may leave trailing parameters unused (its
 * driver binds only as many as the text names).
 */
import type { ProcessEvent, ProcessRecord } from "../model/index.ts";
import { cursorAfter, parseNewestCursor, type ListOrder } from "./list-order.ts";
import type { ListFilter, Page } from "./port.ts";
import type { AppendTarget } from "./rules.ts";

export type SqlValue = string | number | null;

/** The statuses a row ends in; repeated word for word where a partial index must serve a query. */
export const TERMINAL_STATUSES_SQL = "('completed', 'failed', 'cancelled', 'abandoned')";
/** The statuses of a live row. */
export const LIVE_STATUSES_SQL = "('queued', 'pending', 'running', 'waiting')";
/** The terminal event types (outside the replay-key index, see migrations.ts). */
export const TERMINAL_EVENT_TYPES_SQL = "('process.completed', 'process.failed', 'process.cancelled', 'process.abandoned')";

/** A row locked for a write, with the reads every locked write needs taken in the same statement. */
export interface LockedProcess {
  record: ProcessRecord;
  /** Payload of the row's first `process.cancel_requested`, if any. */
  cancelPayload: unknown;
  /**
   * Whether the reads of OTHER rows in the statement (the cancel event) saw every event
   * committed before the lock was granted. Always true in SQLite (the write lock is taken
   * before the transaction reads anything). PostgreSQL takes a statement's snapshot
   * before it waits for the row lock: an event committed while it waited is missing from
   * that snapshot; the row's sequence counter (bumped with every event, under the lock)
   * then runs ahead of the newest event the snapshot shows, and the algorithm reads the
   * event again in a statement of its own.
   */
  fresh: boolean;
  /** Whether a caller waits for the outcome (`markAwaited`). */
  awaited: boolean;
}

/** A cancel recorded before its id was registered. */
export interface Tombstone {
  reason: string | null;
  expiresAtMs: number;
}

/** What `insertProcess` returns when it inserted the row: the id's tombstone, read in the same statement. */
export interface InsertedProcess {
  tombstone: Tombstone | undefined;
  /** Whether the same statement also started the row (a start was given and no tombstone applies). */
  started: boolean;
}

/** `[id, now, type, payload (JSON text), replayKey, status (null: unchanged), outcome (JSON text, null: unchanged)]`. */
export type AppendParams = [id: string, now: number, type: string, payload: string, replayKey: string | null, status: string | null, outcome: string | null];

/**
 * Values of a new row, in the order of `processInsertParams` (migrations.ts), then the session
 * cap, then the `process.started` event to append if the dialect starts the row in the same
 * statement (type, payload as JSON text, replay key; all null without `startRun`).
 */
export type InsertParams = [...values: SqlValue[], sessionCap: number | null, startType: string | null, startPayload: string | null, startKey: string | null];

/**
 * Every statement, by name: `params` it binds and the decoded `row` it yields (`void`:
 * run for its effect; `run` answers the number of rows changed).
 */
export interface Statements {
  /** The row, unlocked. */
  process: { params: [id: string]; row: ProcessRecord };
  exists: { params: [id: string]; row: { found: true } };
  /**
   * PostgreSQL: a transaction-scoped advisory lock that serializes a cancel request with the
   * start of a run of the same id, also while no row exists (`insertProcess` takes the same lock
   * itself). SQLite: absent (the write lock does it).
   */
  lockCancel: { params: [id: string]; row: void };
  /** The row, locked until the write ends, and the first cancel request (see `LockedProcess`). */
  lockProcess: { params: [id: string]; row: LockedProcess };
  /** The part of the row an append is checked against, locked until the write ends. */
  lockAppendTarget: { params: [id: string]; row: AppendTarget };
  /**
   * Inserts a new row unless the id exists or (with a cap) its session owns `cap` live rows;
   * yields a row only when it inserted. It also starts the row (status `running`, sequence 1)
   * when a start is given and no tombstone that applies to the row exists, and yields the
   * tombstone. PostgreSQL reads it under `lockCancel`'s lock (taken inside the same statement)
   * and writes the start event and the NOTIFY too; SQLite's event row is `insertEvent`.
   */
  insertProcess: { params: InsertParams; row: InsertedProcess };
  /**
   * Takes the row's next sequence for an event and sets the row's time, and its status and
   * outcome when given. PostgreSQL: also inserts the event and queues the NOTIFY (one statement).
   */
  appendEvent: { params: AppendParams; row: { sequence: number } };
  /**
   * `complete`'s common case: applies the offered outcome only when nothing opposes it (the row
   * is live without an outcome and holds no cancel request); otherwise it changes nothing and
   * yields no row, and `complete` takes the general path. PostgreSQL: the whole write as ONE
   * statement, run on its own (no BEGIN/COMMIT), that also inserts the event and requires that
   * its snapshot held every event of the row when it took the row lock (the `fresh` test of
   * `LockedProcess`). SQLite: the row only; the event row is `insertEvent`.
   */
  completeUnopposed: { params: AppendParams; row: { record: ProcessRecord; sequence: number; awaited: boolean } };
  /** Notes on a live row that a caller waits for its outcome. */
  markAwaited: { params: [id: string]; row: void };
  /** SQLite: the event row itself, under the sequence `appendEvent` (or `insertProcess`) took. PostgreSQL: absent. */
  insertEvent: { params: [...AppendParams, sequence: number]; row: void };
  /** A live row's status, when it differs. */
  setStatus: { params: [id: string, status: string, now: number]; row: void };
  /** Recovery's compare-and-set: `attempt + 1` on a live row (at `fromAttempt`, when given). */
  retry: { params: [id: string, now: number, fromAttempt: number | null]; row: ProcessRecord };
  eventByReplayKey: { params: [id: string, replayKey: string]; row: ProcessEvent };
  firstOfType: { params: [id: string, type: string]; row: ProcessEvent };
  lastOfType: { params: [id: string, type: string]; row: ProcessEvent };
  tombstone: { params: [id: string]; row: Tombstone };
  insertTombstone: { params: [id: string, reason: string | null, now: number, expiresAtMs: number]; row: void };
  dropExpiredTombstones: { params: [now: number]; row: void };
  eventsAfter: { params: [id: string, after: number, limit: number]; row: ProcessEvent };
  firstOfTypeAfter: { params: [id: string, type: string, after: number]; row: ProcessEvent };
  countEvents: { params: [id: string, type: string, upToSequence: number]; row: { n: number } };
  countLiveInSession: { params: [sessionId: string, upTo: number]; row: { n: number } };
  /** Live rows in id order, after a cursor. */
  liveAfter: { params: [cursor: string, limit: number]; row: ProcessRecord };
}

export type StatementName = keyof Statements;

/** Statements a dialect may leave out (`null`): asking for one then answers no rows, 0 changed. */
export type OptionalStatement = "lockCancel" | "insertEvent";

/** A raw row as a driver returns it. */
export type RawRow = Record<string, unknown>;

export interface StatementDef<Row> {
  readonly sql: string;
  readonly decode: (row: RawRow) => Row;
  /**
   * PostgreSQL: the statement takes a row or advisory lock held to the end of the write, so
   * the write is a transaction from this statement on (statements before it run on their
   * own: a write that needs no lock, e.g. an insert-or-nothing, costs no BEGIN/COMMIT).
   */
  readonly locks?: true;
  /**
   * PostgreSQL: the same statement for several parameter lists in ONE round trip (the group
   * commit's batches). `$1` is a JSON array of the single statement's parameter arrays, read
   * back with `->>` and the single statement's casts; each result row also carries `ord`, the
   * 1-based position of its parameter list. Each list must name a different process.
   */
  readonly batched?: string;
}

/** A dialect's statements: the same names, its SQL and decoders. */
export type StatementTable = { readonly [N in Exclude<StatementName, OptionalStatement>]: StatementDef<Statements[N]["row"]> } & {
  readonly [N in OptionalStatement]: StatementDef<Statements[N]["row"]> | null;
};

/** Decoder of a statement run for its effect only. */
export const noRow = (): void => undefined;

/** One statement request, as an algorithm yields it. */
export interface Stmt {
  readonly name: StatementName;
  readonly params: readonly SqlValue[];
  /** `one`: the first row (or undefined); `all`: every row; `run`: the number of rows changed. */
  readonly mode: "one" | "all" | "run";
}

/** An algorithm: yields statements, receives each one's result, returns `T`. */
export type Sql<T> = Generator<Stmt, T, unknown>;

export function* one<N extends StatementName>(name: N, params: Statements[N]["params"]): Sql<Statements[N]["row"] | undefined> {
  return (yield { name, params, mode: "one" }) as Statements[N]["row"] | undefined;
}

export function* all<N extends StatementName>(name: N, params: Statements[N]["params"]): Sql<Statements[N]["row"][]> {
  return (yield { name, params, mode: "all" }) as Statements[N]["row"][];
}

export function* run<N extends StatementName>(name: N, params: Statements[N]["params"]): Sql<number> {
  return (yield { name, params, mode: "run" }) as number;
}

/** What a driver answers for a statement its dialect leaves out. */
export function absentResult(mode: Stmt["mode"]): unknown {
  return mode === "all" ? [] : mode === "run" ? 0 : undefined;
}

/** How many parameters a statement's text names (`?N` / `$N`): the driver binds that many. */
export function arityOf(sql: string, marker: "?" | "$"): number {
  let max = 0;
  for (const match of sql.matchAll(marker === "?" ? /\?(\d+)/g : /\$(\d+)/g)) max = Math.max(max, Number(match[1]));
  return max;
}

/** Same rule as the memory adapter: a full page carries a cursor, even if nothing follows. */
export function toPage(items: ProcessRecord[], limit: number, order?: ListOrder): Page<ProcessRecord> {
  const last = items.at(-1);
  return { items, ...(items.length === limit && last ? { nextCursor: cursorAfter(last, order) } : {}) };
}

/** The parts of a `list` query that differ by dialect. */
export interface ListDialect {
  /** The placeholder of the n-th parameter (1-based). */
  param(n: number): string;
  /** The row's columns, as the dialect's `process` statement selects them. */
  columns: string;
  /** `causedBy.kind = 'process' AND causedBy.id = <p>`. */
  parentIs(p: string): string;
  /** The process's target (`targetOf`): the tool, the program's name, else the input type. */
  target: string;
  /** The id contains `p`. */
  idContains(p: string): string;
}

/** Builds the `list` query from fixed fragments; filter values only ever become parameters. */
export function listQuery(dialect: ListDialect, filter: ListFilter, limit: number): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const param = (value: SqlValue): string => {
    params.push(value);
    return dialect.param(params.length);
  };
  if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
  if (filter.sessionId !== undefined) where.push(`session_id = ${param(filter.sessionId)}`);
  if (filter.parentId !== undefined) where.push(dialect.parentIs(param(filter.parentId)));
  if (filter.target !== undefined) where.push(`${dialect.target} = ${param(filter.target)}`);
  if (filter.idContains !== undefined) where.push(dialect.idContains(param(filter.idContains)));
  if (filter.order === "newest") {
    if (filter.cursor !== undefined) {
      const c = parseNewestCursor(filter.cursor);
      const at = param(c.createdAtMs);
      where.push(`(created_at_ms < ${at} OR (created_at_ms = ${at} AND id < ${param(c.id)}))`);
    }
    const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    return { sql: `SELECT ${dialect.columns} FROM lash_processes ${clause} ORDER BY created_at_ms DESC, id DESC LIMIT ${param(limit)}`, params };
  }
  where.push(`id > ${param(filter.cursor ?? "")}`);
  return { sql: `SELECT ${dialect.columns} FROM lash_processes WHERE ${where.join(" AND ")} ORDER BY id LIMIT ${param(limit)}`, params };
}
