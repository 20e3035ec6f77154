import { closeSync, fdatasync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";

/** At most this many writes share one transaction; the rest go in the next one. */
const MAX_BATCH = 256;
/** `PRAGMA synchronous = NORMAL`: in WAL mode, a commit does not fsync. */
const SYNCHRONOUS_NORMAL = 1;

export interface WriteOptions {
  /**
   * Answer the caller once the write is committed, before it is on disk. A batch made only
   * of such writes commits without an fsync (`synchronous = NORMAL`) and then syncs the WAL
   * off the event loop, so the write is on disk about one fsync after its caller was
   * answered, sooner if a durable batch follows (a WAL sync covers every frame before it).
   * For a write only its own caller acts on, which a power cut may undo because it would
   * undo every write that read it too (see `RegisterOptions.startRun`).
   */
  deferSync?: boolean;
}

interface Pending {
  work: () => unknown;
  deferSync: boolean;
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
 * resolved write is durable exactly as a write of its own would be, unless it asked for
 * `deferSync`.
 *
 * Why on the event loop and not a worker thread: with the fsync shared, the loop is
 * blocked for one fsync per batch, while a worker would copy every row across threads and
 * need its own connection for reads (`node:sqlite` has no async API to hand the wait to
 * libuv). Tried on 2026-12-02 (3 pairs of fresh bench stacks): committing at NORMAL and
 * answering only after an `fdatasync` of the WAL on libuv's pool, the fsync off the loop and
 * nothing else changed, showed no gain beyond the noise at concurrency 1 or 64. A caller pays
 * for the fsync by waiting for it, which `deferSync` spares the writes that allow it.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  #queue: Pending[] = [];
  #scheduled = false;
  /** The connection's `synchronous` level as configured, and the one a batch of deferred writes commits at. */
  readonly #levels: { durable: number; deferred: number };
  #level: number;
  readonly #wal: WalSync | undefined;

  /**
   * `walFd`: the connection's WAL file, open, for syncing deferred batches (the caller keeps
   * it open while this lives; `close` closes it). Without it `deferSync` is ignored.
   */
  constructor(db: DatabaseSync, walFd?: number) {
    this.#db = db;
    const { synchronous } = db.prepare("PRAGMA synchronous").get() as { synchronous: number };
    this.#wal = walFd === undefined ? undefined : new WalSync(walFd);
    this.#levels = { durable: synchronous, deferred: walFd === undefined ? synchronous : Math.min(synchronous, SYNCHRONOUS_NORMAL) };
    this.#level = synchronous;
  }

  /** Runs `work` inside the next shared write transaction; settles after it committed. */
  run<T>(work: () => T, opts: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, deferSync: opts.deferSync === true, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Waits for a WAL sync in flight, then closes the WAL file; the connection is the caller's. */
  async close(): Promise<void> {
    await this.#wal?.close();
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
    const level = batch.every((pending) => pending.deferSync) ? this.#levels.deferred : this.#levels.durable;
    try {
      // A sync of the WAL that failed may have lost frames that later writes would read.
      this.#wal?.throwIfFailed();
      // SQLite refuses to change `synchronous` inside a transaction: set before BEGIN, kept until a batch needs the other.
      if (level !== this.#level) {
        db.exec(`PRAGMA synchronous = ${level}`);
        this.#level = level;
      }
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
    if (level !== this.#levels.durable) this.#wal?.sync();
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.value);
    });
  }
}

/**
 * `fdatasync` of the WAL on libuv's thread pool, one at a time: a request made while one
 * runs is served by one more after it (which covers every commit before it was started).
 * A failed sync is kept and fails every later batch: after a failed fsync the kernel may
 * have dropped the pages, so committed writes may be gone from the disk though readable.
 */
class WalSync {
  /** Undefined once closed. */
  #fd: number | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failed: Error | undefined;

  constructor(fd: number) {
    this.#fd = fd;
  }

  sync(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = new Promise<void>((resolve) =>
      fdatasync(fd, (err) => {
        if (err !== null)
          this.#failed ??= new Error(`the registry could not sync its WAL to disk; it refuses writes until restarted: ${err.message}`, { cause: err });
        this.#running = undefined;
        resolve();
        if (this.#again) {
          this.#again = false;
          this.sync();
        }
      }),
    );
  }

  throwIfFailed(): void {
    if (this.#failed !== undefined) throw this.#failed;
  }

  async close(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
