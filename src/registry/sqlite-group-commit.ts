import type { DatabaseSync } from "node:sqlite";

/** At most this many writes share one transaction; the rest go in the next one. */
const MAX_BATCH = 256;

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for one synchronous `node:sqlite` connection. Every write is a function
 * run inside a write transaction; the writes requested during one turn of the event
 * loop share ONE `BEGIN IMMEDIATE … COMMIT`, so under `synchronous = FULL` concurrent
 * processes pay one WAL fsync (which blocks the loop) between them instead of one each.
 * Each write runs in its own SAVEPOINT: one that throws is rolled back alone and
 * rejects only its own caller. Callers are answered only after the COMMIT, so a
 * resolved write is durable exactly as a write of its own would be.
 *
 * Why on the event loop and not a worker thread: with the fsync shared, the loop is
 * blocked for one fsync per batch, while a worker would copy every row across threads and
 * need its own connection for reads (`node:sqlite` has no async API to hand the wait to
 * libuv). What taking the fsync off the loop could still gain is bounded by the *sqlite
 * NORMAL* row of BENCHMARKS.md's what-if table (no fsync at all).
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Runs `work` inside the next shared write transaction; settles after it committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the I/O phase: every write requested by the messages read in it joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush(this.#queue.splice(0, MAX_BATCH));
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  #flush(batch: Pending[]): void {
    const db = this.#db;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      db.exec("BEGIN IMMEDIATE"); // the write lock before anything is read (other OS processes may share the file)
      for (const pending of batch) {
        db.exec("SAVEPOINT lash_write");
        try {
          outcomes.push({ ok: true, value: pending.work() });
          db.exec("RELEASE lash_write");
        } catch (err) {
          db.exec("ROLLBACK TO lash_write");
          db.exec("RELEASE lash_write");
          outcomes.push({ ok: false, value: err });
        }
      }
      db.exec("COMMIT");
    } catch (err) {
      // BEGIN, a savepoint or the COMMIT itself failed (busy past the timeout, disk full, closed):
      // nothing of the batch is committed, and every caller hears why.
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
      for (const pending of batch) pending.reject(err);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.value);
    });
  }
}
