import type pg from "pg";
import type { StatementDef, Stmt } from "./sql-statements.ts";

/** At most this many statements share one transaction; the rest go in the next one. */
const MAX_BATCH = 64;

type Execute = (db: pg.Pool | pg.PoolClient, stmt: Stmt, def: StatementDef<unknown>) => Promise<unknown>;

interface Pending {
  stmt: Stmt;
  def: StatementDef<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for PostgreSQL's writes that are one statement of their own (a new row's
 * insert-and-start, an outcome nothing opposes): the ones requested during one turn of the
 * event loop run in ONE transaction on one pooled connection, so they share one commit.
 * On this machine a commit of its own costs PostgreSQL about 0.15 ms of CPU beyond the
 * statement (the WAL flush and the wake-ups around it), which was half of what the
 * registry cost it per process.
 *
 * A turn with one such write runs it on its own, as before, so a lone write pays no
 * BEGIN/COMMIT round trips. In a batch, the statements that have a `batched` form (the
 * insert-and-start, the unopposed outcome) go in one statement per name, one round trip for
 * all their processes: node-postgres sends a connection's queries one at a time, so a batch
 * of N statements sent one by one cost N round trips, each waking the server and this loop,
 * while the batch's callers waited for all of them. The rest run one by one. Processes
 * come in id order, within each statement too, so batched inserts take their cancel locks
 * in id order. If a statement of a batch fails (a deadlock between two batches included), the
 * batch is rolled back and each statement runs again on its own, so only the one that
 * fails fails. If the COMMIT itself fails, whether it committed is unknown (the connection
 * may have died after it did): every caller hears the error, as the caller of a lone
 * statement would, and none is run again here.
 */
export class PgGroupCommit {
  readonly #pool: pg.Pool;
  readonly #execute: Execute;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(pool: pg.Pool, execute: Execute) {
    this.#pool = pool;
    this.#execute = execute;
  }

  /** Runs `stmt` in the next shared transaction; settles after it committed. */
  run(stmt: Stmt, def: StatementDef<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ stmt, def, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // After the I/O phase: every write requested by the messages read in it joins the batch.
      setImmediate(() => this.#flushQueued());
    });
  }

  #flushQueued(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) void this.#flush(this.#queue.splice(0, MAX_BATCH));
  }

  async #flush(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.#alone(batch[0]!);
    batch.sort((a, b) => compareIds(a.stmt, b.stmt));
    let db: pg.PoolClient;
    try {
      db = await this.#pool.connect();
    } catch (err) {
      for (const pending of batch) pending.reject(err);
      return;
    }
    const results = new Map<Pending, unknown>();
    let committing = false;
    try {
      await db.query("BEGIN");
      for (const part of partsOf(batch)) {
        if (part.length === 1) results.set(part[0]!, await this.#execute(db, part[0]!.stmt, part[0]!.def));
        else (await executeBatched(db, part)).forEach((result, i) => results.set(part[i]!, result));
      }
      committing = true;
      await db.query("COMMIT");
    } catch (err) {
      if (committing) {
        db.release(true);
        for (const pending of batch) pending.reject(err);
        return;
      }
      // A failed ROLLBACK means the connection itself is gone: drop it from the pool.
      let broken = false;
      await db.query("ROLLBACK").catch(() => (broken = true));
      db.release(broken);
      await Promise.all(batch.map((pending) => this.#alone(pending)));
      return;
    }
    db.release();
    for (const pending of batch) pending.resolve(results.get(pending));
  }

  async #alone(pending: Pending): Promise<void> {
    try {
      pending.resolve(await this.#execute(this.#pool, pending.stmt, pending.def));
    } catch (err) {
      pending.reject(err);
    }
  }
}

/**
 * The round trips of a batch: the statements that have a `batched` form go in one statement
 * per name (each process once; a second statement for the same process runs on its own,
 * after), the rest one by one. In id order within each.
 */
function partsOf(batch: readonly Pending[]): Pending[][] {
  const parts: Pending[][] = [];
  const byName = new Map<string, { part: Pending[]; ids: Set<unknown> }>();
  const alone: Pending[][] = [];
  for (const pending of batch) {
    if (pending.def.batched === undefined || pending.stmt.mode !== "one") {
      parts.push([pending]);
      continue;
    }
    let group = byName.get(pending.stmt.name);
    if (group === undefined) {
      group = { part: [], ids: new Set() };
      byName.set(pending.stmt.name, group);
      parts.push(group.part);
    }
    if (group.ids.has(pending.stmt.params[0])) alone.push([pending]);
    else {
      group.ids.add(pending.stmt.params[0]);
      group.part.push(pending);
    }
  }
  return [...parts, ...alone];
}

/**
 * Statements of one name with a `batched` form, in one round trip; each one's decoded row or
 * `undefined`, in order. Sent as it is, not through the registry's NUL check: `jsonb` refuses
 * a NUL, and the statement that carries one then fails alone, where that check names it.
 */
async function executeBatched(db: pg.PoolClient, part: readonly Pending[]): Promise<unknown[]> {
  const { stmt, def } = part[0]!;
  const { rows } = await db.query({ name: `lash_${stmt.name}_batched`, text: def.batched!, values: [JSON.stringify(part.map((p) => p.stmt.params))] });
  const byOrd = new Map(rows.map((row: Record<string, unknown>) => [Number(row.ord), row]));
  return part.map((pending, i) => {
    const row = byOrd.get(i + 1);
    return row === undefined ? undefined : pending.def.decode(row);
  });
}

/** By first parameter (the process id of every statement batched here). */
function compareIds(a: Stmt, b: Stmt): number {
  const x = String(a.params[0]);
  const y = String(b.params[0]);
  return x < y ? -1 : x > y ? 1 : 0;
}
