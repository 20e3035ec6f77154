/**
 * `waitEventAfter` for PostgreSQL without a polling loop: one dedicated connection
 * (not from the pool: a LISTEN belongs to one session and must stay open) LISTENs on
 * `lash_events`; after every commit that appended an event, the writer sends
 * `pg_notify('lash_events', '<namespace>/<processId>')` (`announce`), which PostgreSQL
 * delivers to every listener. The namespace (the registry's schema) keeps registries that
 * share a database from waking each other.
 *
 * Why after the commit and not inside the appending transaction (which would make the
 * notification transactional): a transaction that NOTIFYs holds PostgreSQL's notification-
 * queue lock, one per database, from its pre-commit through its commit's WAL flush, so all
 * such commits run one at a time and lose group commit (measured here: 1,600 notifying
 * commits/s against 3,300-3,900 plain ones). A NOTIFY in a transaction of its own writes
 * no WAL, so it holds that lock only briefly; the NOTIFYs of one tick go out in one
 * statement. A notification still only ever follows a commit. The cost: a writer that dies
 * between its commit and the NOTIFY leaves other processes' waiters to the safety re-check.
 *
 * A waiter is registered BEFORE its first lookup, so an event committed while the
 * lookup runs still wakes it (the wake is remembered and the lookup repeated).
 * Notifications sent while the LISTEN connection is down are lost: on reconnect every
 * waiter looks again, and a long safety re-check (default 5 s, `recheckMs`) covers
 * anything else. That re-check is a backstop, not the mechanism: a cross-process
 * append wakes a waiter within milliseconds.
 */
import pg from "pg";
import type { ProcessEvent } from "../model/index.ts";
import { EventWaiters } from "./event-waiters.ts";

const NOTIFY_CHANNEL = "lash_events";
export const DEFAULT_RECHECK_MS = 5_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** setTimeout fires at once for delays above 2^31-1 ms; longer waits are clamped to this. */

type Lookup = () => Promise<ProcessEvent | undefined>;

export interface NotifierLog {
  warn(message: string): void;
  info(message: string): void;
}

export interface NotifierOptions {
  /** Connection settings of the LISTEN session. */
  client: pg.ClientConfig;
  /** Only notifications of this namespace wake waiters. */
  namespace: string;
  /** Sends one NOTIFY per payload (the registry passes `sendNotifications` on its pool). */
  send: (payloads: readonly string[]) => Promise<unknown>;
  recheckMs?: number;
  log?: NotifierLog;
}

export class PgEventNotifier {
  readonly #opts: NotifierOptions;
  readonly #log: NotifierLog;
  readonly #waiters: EventWaiters;
  readonly #recheckMs: number;
  #client: pg.Client | undefined;
  /** Payloads `announce` queued and not yet sent; a Set, since one NOTIFY per process per batch wakes as much. */
  #outbox = new Set<string>();
  /** The batch being sent (then the next), while there is one. */
  #sending: Promise<void> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Connects and LISTENs before returning, so no notification after `start` resolves is missed. */
  static async start(opts: NotifierOptions): Promise<PgEventNotifier> {
    const notifier = new PgEventNotifier(opts);
    await notifier.#connect();
    return notifier;
  }

  private constructor(opts: NotifierOptions) {
    this.#opts = opts;
    // The re-check is a safety net only: NOTIFY is what wakes a wait.
    this.#recheckMs = opts.recheckMs ?? DEFAULT_RECHECK_MS;
    this.#waiters = new EventWaiters({ pollMs: this.#recheckMs });
    this.#log = opts.log ?? console;
  }

  /** What the NOTIFY for `processId` carries. */
  #payloadFor(processId: string): string {
    return `${this.#opts.namespace}/${processId}`;
  }

  /** Wakes this registry's waiters of `processId`. */
  #wake(processId: string): void {
    this.#waiters.notify(processId);
  }

  /**
   * After a commit that appended events to `processId`: wakes this process's waiters at once and
   * sends the NOTIFY for everyone else's, together with the other announcements of this tick.
   * Never throws: a NOTIFY that fails is logged, and the waiters it would have woken re-check later.
   */
  announce(processId: string): void {
    this.#wake(processId);
    this.#outbox.add(this.#payloadFor(processId));
    this.#sending ??= this.#sendOutbox();
  }

  async #sendOutbox(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve)); // the other commits answered in this tick join
    while (this.#outbox.size > 0) {
      const payloads = [...this.#outbox];
      this.#outbox.clear();
      try {
        await this.#opts.send(payloads);
      } catch (err) {
        this.#log.warn(
          `lash: PostgreSQL registry could not send ${payloads.length} event notification(s) (${String(err)}); waiters elsewhere re-check within ${this.#recheckMs} ms`,
        );
      }
    }
    this.#sending = undefined;
  }

  /** First result of `lookup` that is not `undefined`, re-checked on every wake; `undefined` at the timeout. */
  wait(processId: string, timeoutMs: number, lookup: Lookup): Promise<ProcessEvent | undefined> {
    return this.#waiters.wait(processId, timeoutMs, lookup);
  }

  /** Sends what `announce` still holds, then ends the LISTEN session; waits still pending reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sending;
    clearTimeout(this.#reconnectTimer);
    this.#waiters.close(closedError());
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#opts.client);
    // Attached before connecting: an 'error' event without a listener would crash the process.
    client.on("error", (err) => this.#lost(client, err));
    client.on("end", () => this.#lost(client, new Error("connection ended")));
    client.on("notification", (msg) => {
      if (msg.channel !== NOTIFY_CHANNEL || msg.payload === undefined) return;
      const slash = msg.payload.indexOf("/");
      if (msg.payload.slice(0, slash) === this.#opts.namespace) this.#wake(msg.payload.slice(slash + 1));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client || this.#closed) return; // still connecting, already handled, or closing
    this.#client = undefined;
    client.end().catch(() => {});
    this.#log.warn(`lash: PostgreSQL registry lost its LISTEN connection (${err.message}); reconnecting`);
    this.#scheduleReconnect(RECONNECT_MIN_MS);
  }

  #scheduleReconnect(delayMs: number): void {
    this.#reconnectTimer = setTimeout(() => {
      if (this.#closed) return;
      this.#connect().then(
        () => {
          if (this.#closed) return;
          this.#log.info("lash: PostgreSQL registry LISTEN connection restored");
          // Anything appended while the session was down sent its NOTIFY into the void.
          this.#waiters.notifyAll();
        },
        (err: unknown) => {
          this.#log.warn(`lash: PostgreSQL registry could not restore its LISTEN connection (${String(err)}); retrying`);
          this.#scheduleReconnect(Math.min(delayMs * 2, RECONNECT_MAX_MS));
        },
      );
    }, delayMs);
  }
}

function closedError(): Error {
  return new Error("the PostgreSQL registry is closed");
}

/** `NotifierOptions.send` on a pool: one NOTIFY per payload, all in one statement. */
export function sendNotifications(db: pg.Pool, payloads: readonly string[]): Promise<unknown> {
  return db.query({ name: "lash_notify", text: "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", values: [NOTIFY_CHANNEL, payloads] });
}
