import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import type { LashError } from "../src/model/index.ts";
import { MIGRATIONS } from "../src/registry/migrations.ts";
import { parsePostgresUrl } from "../src/registry/postgres-config.ts";
import { PgEventNotifier, sendNotifications } from "../src/registry/postgres-notifier.ts";
import { PostgresRegistry } from "../src/registry/postgres-registry.ts";
import { registryConformance } from "./registry-conformance.ts";
import { registration, rejectsWith, timed } from "./registry-conformance/fixtures.ts";
import { TEST_PG_URL, freshSchema, pgQuery, pgUrl, type TestSchema } from "./support/pg.ts";
import { runNode } from "./support/child.ts";

registryConformance("postgres", async () => {
  const schema = await freshSchema();
  const registry = await PostgresRegistry.open(schema.url());
  return {
    registry,
    cleanup: async () => {
      await registry.close();
      await schema.drop();
    },
  };
});

// ---------------------------------------------------------------------------
// PostgreSQL-only behaviour: URL parameters, storage limits, migrations and
// sequences across OS processes, LISTEN/NOTIFY wake-ups and connection loss.
// ---------------------------------------------------------------------------

const CHILD = fileURLToPath(new URL("./support/pg-child.ts", import.meta.url));

/** Collects what the registry logs, instead of printing it. */
function captureLog() {
  const lines: string[] = [];
  return { lines, log: { warn: (m: string) => lines.push(`WARN ${m}`), info: (m: string) => lines.push(`INFO ${m}`) } };
}

/** Terminates the server sessions of one application_name (what a DBA or a failover does to a connection). */
async function terminateSessions(applicationName: string): Promise<number> {
  // Materialized first: the planner may otherwise evaluate pg_terminate_backend before the filter.
  const rows = await pgQuery<{ pid: number }>(
    `WITH targets AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid())
     SELECT pid FROM targets WHERE pg_terminate_backend(pid)`,
    [applicationName],
  );
  return rows.length;
}

async function sessionsOf(applicationName: string): Promise<number> {
  const [row] = await pgQuery<{ n: string }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = $1", [applicationName]);
  return Number(row?.n ?? 0);
}

async function until(predicate: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/**
 * Resolves once a registry statement that reads cancel requests (`complete`'s) waits for a row
 * lock; throws after `ms`. Another test's registry on the same server
 * could answer early: the case then runs without the wait and its assertion still holds.
 */
async function waitForLockWait(ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const [row] = await pgQuery<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%process.cancel_requested%' AND datname = current_database()",
    );
    if (Number(row?.n ?? 0) > 0) return;
    await delay(20);
  }
  throw new Error(`no registry statement waited for the row lock within ${ms} ms`);
}

describe("PostgresRegistry on a server", () => {
  let schema: TestSchema;
  const opened: PostgresRegistry[] = [];
  const open = async (url: string, opts?: Parameters<typeof PostgresRegistry.open>[1]) => {
    const registry = await PostgresRegistry.open(url, opts);
    opened.push(registry);
    return registry;
  };
  beforeEach(async () => {
    schema = await freshSchema();
  });
  afterEach(async () => {
    for (const registry of opened.splice(0)) await registry.close();
    await schema.drop();
  });

  it("is durable, of kind postgres, lives in ?schema= and keeps at most ?pool= connections plus one listener", async () => {
    const app = schema.name;
    const registry = await open(schema.url({ pool: "3", application_name: app }));
    assert.deepEqual([registry.kind, registry.durabilityTier, registry.schema, registry.poolSize], ["postgres", "durable", schema.name, 3]);
    await registry.register(registration("p-1"));
    const events = await Promise.all(Array.from({ length: 30 }, (_, i) => registry.appendEvent("p-1", { type: "note", payload: i })));
    assert.deepEqual(
      events.map((e) => e.sequence).sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.ok((await sessionsOf(app)) <= 3, "the pool never exceeds ?pool=");
    assert.equal(await sessionsOf(`${app} listener`), 1);
    const tables = await pgQuery<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [
      schema.name,
    ]);
    assert.deepEqual(
      tables.map((t) => t.table_name),
      ["lash_cancel_requests", "lash_events", "lash_migrations", "lash_processes", "lash_session_entries", "lash_sessions"],
    );
    const defaults = await open(schema.url());
    assert.equal(defaults.poolSize, 10, "the default pool size");
  });

  it("session options: the URL's own options= are kept, then search_path and idle_in_transaction_session_timeout", async () => {
    const settings = parsePostgresUrl(schema.url({ options: "-c statement_timeout=4321", pool: "2" }));
    assert.doesNotMatch(settings.connectionString, /schema=|pool=|options=/);
    const client = new pg.Client({ connectionString: settings.connectionString, options: settings.sessionOptions });
    await client.connect();
    try {
      const show = async (name: string) => Object.values((await client.query<Record<string, unknown>>(`SHOW ${name}`)).rows[0] ?? {})[0];
      assert.deepEqual(
        [await show("statement_timeout"), await show("search_path"), await show("idle_in_transaction_session_timeout")],
        ["4321ms", `"${schema.name}"`, "1min"],
      );
    } finally {
      await client.end();
    }
    const registry = await open(schema.url({ options: "-c statement_timeout=4321" }));
    assert.equal((await registry.register(registration("p-1"))).created, true, "the pool connects with the combined options");
  });

  it("refuses bad ?pool= and ?schema= values, and never echoes the URL (it may carry a password)", async () => {
    for (const [params, why] of [
      [{ pool: "0" }, /\?pool= must be an integer from 1 to 1000/],
      [{ pool: "2.5" }, /\?pool=/],
      [{ pool: "many" }, /\?pool=/],
      [{ schema: "has-dash" }, /\?schema= must be/],
      [{ schema: 'quo"te' }, /\?schema= must be/],
      [{ schema: "1starts_with_digit" }, /\?schema= must be/],
    ] as const) {
      const url = pgUrl({ ...params, password: "s3cret" });
      await assert.rejects(PostgresRegistry.open(url), (err: LashError) => {
        assert.equal(err.code, "invalid_input");
        assert.equal(err.field, "registryUrl");
        assert.match(err.message, why);
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      });
    }
    const started = performance.now();
    await assert.rejects(PostgresRegistry.open("postgres://someone:s3cret@127.0.0.1:1/nowhere"), (err: Error) => {
      assert.match(err.message, /cannot open the PostgreSQL registry at 127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
    assert.ok(performance.now() - started < 5_000, "an unreachable server fails fast");
  });

  it("survives close and reopen: rows, events and outcome", async () => {
    const first = await PostgresRegistry.open(schema.url());
    await first.register(registration("p-1"));
    await first.register(registration("p-2"));
    await first.markStarted("p-1", "inv-1");
    await first.appendEvent("p-1", { type: "progress", payload: { pct: 10 }, replayKey: "k" });
    const completed = await first.complete("p-1", { type: "success", value: { ok: true } });
    await first.close();
    await first.close(); // idempotent
    await assert.rejects(first.get("p-1"), /closed/);

    const reopened = await open(schema.url());
    assert.deepEqual(await reopened.get("p-1"), completed.record);
    assert.deepEqual(
      (await reopened.eventsAfter("p-1", 0)).map((e) => [e.sequence, e.type]),
      [
        [1, "process.started"],
        [2, "progress"],
        [3, "process.completed"],
      ],
    );
    const again = await reopened.complete("p-1", { type: "success", value: { ok: true } });
    assert.deepEqual([again.disposition, again.event], ["already_applied", completed.event]);
    assert.equal((await reopened.register(registration("p-2"))).created, false);
    assert.deepEqual(
      (await reopened.listNonTerminal(10)).items.map((r) => r.id),
      ["p-2"],
    );
    assert.equal((await reopened.appendEvent("p-2", { type: "note", payload: 1 })).sequence, 1);
  });

  it('orders ids bytewise (COLLATE "C"), whatever the database locale, so keyset paging matches SQLite', async () => {
    const registry = await open(schema.url());
    const ids = ["b", "B", "a", "A", "_x", "-y", ".z", "0", "Z9", "z.1", "a-b", "a_b", "aB", "ab"];
    for (const id of ids) await registry.register(registration(id));
    const bytewise = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(
      (await registry.list({ limit: 100 })).items.map((r) => r.id),
      bytewise,
    );
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await registry.listNonTerminal(3, cursor);
      paged.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    assert.deepEqual(paged, bytewise);
    const collations = await pgQuery<{ column: string; collation_name: string }>(
      `SELECT table_name || '.' || column_name AS column, collation_name FROM information_schema.columns
       WHERE table_schema = $1 AND column_name IN ('id', 'session_id', 'process_id') ORDER BY 1`,
      [schema.name],
    );
    assert.deepEqual(
      collations.map((c) => [c.column, c.collation_name]),
      [
        ["lash_cancel_requests.id", "C"],
        ["lash_events.process_id", "C"],
        ["lash_processes.id", "C"],
        ["lash_processes.session_id", "C"],
        ["lash_session_entries.session_id", "C"],
        ["lash_sessions.id", "C"],
      ],
    );
  });

  it("refuses NUL characters and unpaired surrogates (JSONB/TEXT cannot store them) as invalid_input naming the field", async () => {
    const registry = await open(schema.url());
    const withNul = registration("nul-1", { input: { type: "program", name: "demo", args: { list: ["ok", "bad\u0000"] } } });
    await rejectsWith(registry.register(withNul), "invalid_input", "registration.input.args.list.1");
    await rejectsWith(
      registry.register(registration("nul-2", { provenance: { ownerScope: { sessionId: "s\u0000" }, hostProfileId: "" } })),
      "invalid_input",
      "registration.provenance.ownerScope.sessionId",
    );
    assert.deepEqual((await registry.list()).items, []);
    await registry.register(registration("p-1"));
    await rejectsWith(registry.appendEvent("p-1", { type: "note", payload: { text: "a\u0000b" } }), "invalid_input", "event.payload.text");
    await rejectsWith(registry.appendEvent("p-1", { type: "note", payload: { half: "\ud800" } }), "invalid_input", "event.payload.half");
    await rejectsWith(registry.appendEvent("p-1", { type: "signal.x\u0000", payload: null }), "invalid_input", "event.type");
    await rejectsWith(registry.appendEvent("p-1", { type: "note", payload: 1, replayKey: "k\u0000" }), "invalid_input", "event.replayKey");
    // Lookups too: a typed error, never a server error that a Restate step would retry forever.
    await rejectsWith(registry.get("p\u0000"), "invalid_input");
    await rejectsWith(registry.countEvents("p-1", "signal.\u0000", 9), "invalid_input");
    await rejectsWith(registry.list({ sessionId: "s\u0000" }), "invalid_input");
    await rejectsWith(registry.complete("p-1", { type: "success", value: "\udc00" }), "invalid_input", "output.value");
    assert.deepEqual(await registry.eventsAfter("p-1", 0), []);
    assert.equal((await registry.get("p-1"))?.status, "pending");
    const paired = await registry.appendEvent("p-1", { type: "note", payload: { emoji: "\ud83d\ude00", quote: 'it\'s "fine" \\' } });
    assert.deepEqual((await registry.eventsAfter("p-1", 0))[0]?.payload, paired.payload, "valid surrogate pairs and quotes round-trip");
  });

  it("concurrent first registrations of one id: exactly one is created, the others get that row or a conflict", async () => {
    const a = await open(schema.url({ pool: "4" }));
    const b = await open(schema.url({ pool: "4" }));
    const same = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).register(registration("race"))));
    assert.equal(same.filter((r) => r.created).length, 1);
    for (const r of same) assert.deepEqual(r.record, same.find((x) => x.created)!.record);
    const mixed = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).register(registration("race-2", { maxAttempts: 1 + (i % 2) }))));
    const created = mixed.filter((r) => r.status === "fulfilled" && r.value.created);
    const conflicts = mixed.filter((r) => r.status === "rejected" && (r.reason as LashError).code === "registration_conflict");
    assert.equal(created.length, 1);
    assert.equal(conflicts.length, 4, "every registration with the other content conflicts");
  });

  it("a write whose row lock waited reads the cancel request committed meanwhile (its statement's snapshot predates the wait)", async () => {
    const registry = await open(schema.url());
    await registry.register(registration("held"), { startRun: "inv/1" });
    // Another transaction holds the row lock, then appends a cancel request and commits while
    // `complete` waits for the lock with a snapshot taken before that commit.
    const other = new pg.Client({ connectionString: TEST_PG_URL });
    other.on("error", () => {});
    await other.connect();
    try {
      await other.query(`SET search_path TO "${schema.name}"`);
      await other.query("BEGIN");
      await other.query("SELECT 1 FROM lash_processes WHERE id = 'held' FOR NO KEY UPDATE");
      const completing = registry.complete("held", { type: "success", value: 1 }, { replayKey: "inv/1" });
      await waitForLockWait(10_000);
      await other.query(`WITH c AS (UPDATE lash_processes SET last_sequence = last_sequence + 1 WHERE id = 'held' RETURNING last_sequence)
        INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key)
        SELECT 'held', last_sequence, 'process.cancel_requested', '{"reason":"stop"}', 0, 'cancel-1' FROM c`);
      await other.query("COMMIT");
      const done = await completing;
      assert.equal(done.outcome.type, "cancelled", "the standing cancel wins");
      assert.equal(done.outcome.type === "cancelled" ? done.outcome.reason : undefined, "stop");
    } finally {
      await other.end().catch(() => {});
    }
  });

  it("applies each migration once, records it in lash_migrations, and reopening is a no-op", async () => {
    await (await PostgresRegistry.open(schema.url())).close();
    const table = `"${schema.name}".lash_migrations`;
    const firstRun = await pgQuery(`SELECT version, name, applied_at_ms FROM ${table} ORDER BY version`);
    assert.deepEqual(
      firstRun.map((r) => [r.version, r.name]),
      MIGRATIONS.map((m) => [m.version, m.name]),
    );
    await (await PostgresRegistry.open(schema.url())).close();
    assert.deepEqual(await pgQuery(`SELECT version, name, applied_at_ms FROM ${table} ORDER BY version`), firstRun);
    const objects = await pgQuery<{ relname: string }>(
      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE 'lash_%' ORDER BY 1",
      [schema.name],
    );
    assert.deepEqual(
      objects.map((o) => o.relname),
      [
        "lash_cancel_requests",
        "lash_cancel_requests_by_expiry",
        "lash_cancel_requests_pkey",
        "lash_events",
        "lash_events_by_type",
        "lash_events_pkey",
        "lash_events_replay_key",
        "lash_migrations",
        "lash_migrations_pkey",
        "lash_processes",
        "lash_processes_by_session",
        "lash_processes_by_status",
        "lash_processes_finished_by_age",
        "lash_processes_live_by_id",
        "lash_processes_live_by_session",
        "lash_processes_pkey",
        "lash_session_entries",
        "lash_session_entries_pkey",
        "lash_session_entries_replay_key",
        "lash_sessions",
        "lash_sessions_pkey",
      ],
    );
    await assert.rejects(
      pgQuery(`INSERT INTO "${schema.name}".lash_processes
        (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, created_at_ms, updated_at_ms)
        VALUES ('x', 'h', '{}', '[]', '{}', 's', 1, 'bogus', 1, 0, 0)`),
      /lash_processes_status_check/,
      "the replaced CHECK still refuses unknown statuses",
    );
  });

  it("refuses a database that a newer build migrated", async () => {
    await (await PostgresRegistry.open(schema.url())).close();
    await pgQuery(`INSERT INTO "${schema.name}".lash_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)`, [99, "from_the_future", 0]);
    const app = schema.name;
    await assert.rejects(PostgresRegistry.open(schema.url({ application_name: app })), /migration 99 "from_the_future".*upgrade/);
    assert.deepEqual([await sessionsOf(app), await sessionsOf(`${app} listener`)], [0, 0], "a failed open leaves no connection behind");
  });

  it("four OS processes opening a fresh schema at once: it is created and migrated exactly once, all of them work", async () => {
    const barrier = await mkdtemp(join(tmpdir(), "lash-pg-barrier-"));
    try {
      const writers = ["m1", "m2", "m3", "m4"];
      const results = await Promise.all(writers.map((w) => runNode([CHILD, "migrate", schema.url(), w, barrier, String(writers.length)])));
      for (const r of results) assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr);
      assert.deepEqual(
        results.map((r) => (JSON.parse(r.stdout) as { created: boolean }).created),
        [true, true, true, true],
      );
      const applied = await pgQuery(`SELECT version, name FROM "${schema.name}".lash_migrations ORDER BY version`);
      assert.deepEqual(
        applied.map((r) => [r.version, r.name]),
        MIGRATIONS.map((m) => [m.version, m.name]),
      );
      const registry = await open(schema.url());
      assert.deepEqual(
        (await registry.list()).items.map((r) => r.id),
        ["by-m1", "by-m2", "by-m3", "by-m4"],
      );
    } finally {
      await rm(barrier, { recursive: true, force: true });
    }
  });

  it("two OS processes appending 500 events each to one process id get sequences 1..1000, no gap, no duplicate", async () => {
    const barrier = await mkdtemp(join(tmpdir(), "lash-pg-barrier-"));
    try {
      const writers = ["w1", "w2"];
      const results = await Promise.all(writers.map((w) => runNode([CHILD, "append", schema.url(), "shared", w, "500", barrier, String(writers.length)])));
      for (const r of results) assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr);
      const reported = results.map((r) => JSON.parse(r.stdout) as { writer: string; sequences: number[] });
      const allReported = reported.flatMap((r) => r.sequences).sort((a, b) => a - b);
      assert.deepEqual(
        allReported,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );

      const registry = await open(schema.url());
      const events = await registry.eventsAfter("shared", 0, 1000);
      assert.deepEqual(
        events.map((e) => e.sequence),
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      for (const w of writers) {
        const own = events.filter((e) => (e.payload as { writer: string }).writer === w).map((e) => (e.payload as { i: number }).i);
        assert.deepEqual(
          own,
          Array.from({ length: 500 }, (_, i) => i),
          `${w}'s events are all there, in its order`,
        );
      }
      const switches = events.filter((e, i) => i > 0 && (e.payload as { writer: string }).writer !== (events[i - 1]!.payload as { writer: string }).writer);
      assert.ok(switches.length > 100, `the writers contended for the sequence (their appends interleave; ${switches.length} switches)`);
      const [row] = await pgQuery<{ last_sequence: string }>(`SELECT last_sequence FROM "${schema.name}".lash_processes WHERE id = 'shared'`);
      assert.equal(row?.last_sequence, "1000");
    } finally {
      await rm(barrier, { recursive: true, force: true });
    }
  });

  it("waitEventAfter is woken by an append from another OS process through LISTEN/NOTIFY, not by polling", async () => {
    // A re-check interval far beyond the test's budget: only a notification can wake the waiter in time.
    const registry = await open(schema.url(), { recheckMs: 120_000 });
    await registry.register(registration("p-1"));
    const waiting = registry.waitEventAfter("p-1", "signal.go", 0, 10_000).then((event) => ({ event, resolvedAtMs: Date.now() }));
    const child = await runNode([CHILD, "signal", schema.url(), "p-1", "signal.go"]);
    assert.deepEqual([child.code, child.stderr], [0, ""], child.stderr);
    const { event: appended, committedAtMs } = JSON.parse(child.stdout) as { event: unknown; committedAtMs: number };
    const { event, resolvedAtMs } = await waiting;
    assert.deepEqual(event, appended);
    const lagMs = resolvedAtMs - committedAtMs;
    assert.ok(lagMs < 1_000, `woken ${lagMs} ms after the other process committed (the default safety re-check is 5000 ms)`);
  });

  it("a wait started right before an append (no tick between) still resolves with it: the waiter is registered before its first lookup", async () => {
    const registry = await open(schema.url(), { recheckMs: 120_000 });
    await registry.register(registration("p-1"));
    for (let i = 0; i < 10; i++) {
      const waiting = timed(() => registry.waitEventAfter("p-1", "note", i, 5_000));
      const appended = await registry.appendEvent("p-1", { type: "note", payload: i });
      const { result, ms } = await waiting;
      assert.deepEqual(result, appended);
      assert.ok(ms < 1_000, `append ${i}: took ${ms} ms`);
    }
  });

  it("group commit: concurrent one-statement writes share transactions, and one that fails inside a batch fails alone", async () => {
    const registry = await open(schema.url());
    const ids = Array.from({ length: 20 }, (_, i) => `g-${String(i).padStart(2, "0")}`);
    await Promise.all(ids.map((id) => registry.register(registration(id), { startRun: `inv-${id}/1` })));
    await Promise.all(ids.map((id) => registry.complete(id, { type: "success", value: id }, { replayKey: `inv-${id}/1` })));
    const rows = await pgQuery<{ id: string; status: string; tx: string }>(
      `SELECT id, status, xmin::text AS tx FROM "${schema.name}".lash_processes ORDER BY id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.status]),
      ids.map((id) => [id, "completed"]),
    );
    const transactions = new Set(rows.map((r) => r.tx)).size;
    assert.ok(transactions < ids.length, `20 outcomes written in ${transactions} transactions`);
    for (const id of ids)
      assert.deepEqual(
        (await registry.eventsAfter(id, 0)).map((e) => e.type),
        ["process.started", "process.completed"],
      );

    // A start waits for the cancel lock of its id: held here, so that start times out, inside a batch.
    const blocking = await open(schema.url({ options: "-c lock_timeout=300" }));
    const holder = new pg.Client({ connectionString: TEST_PG_URL });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtext('lash_cancel:' || $1::text))", ["held"]);
      const settled = await Promise.allSettled(["free-1", "held", "free-2"].map((id) => blocking.register(registration(id), { startRun: `inv-${id}/1` })));
      assert.deepEqual(
        settled.map((s) => s.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      assert.match(String((settled[1] as PromiseRejectedResult).reason), /lock timeout/);
      const stored = await pgQuery<{ id: string; status: string }>(
        `SELECT id, status FROM "${schema.name}".lash_processes WHERE id IN ('free-1', 'free-2', 'held') ORDER BY id`,
      );
      assert.deepEqual(stored, [
        { id: "free-1", status: "running" },
        { id: "free-2", status: "running" },
      ]);
    } finally {
      await holder.end();
    }
  });

  it("announces appends after the commit, one NOTIFY statement per tick; a NOTIFY that fails is logged and wakes local waiters anyway", async () => {
    const pool = new pg.Pool({ connectionString: schema.url(), max: 1 });
    const sent: string[][] = [];
    let failSends = false;
    const { lines, log } = captureLog();
    const start = (namespace: string) =>
      PgEventNotifier.start({
        client: { connectionString: schema.url() },
        namespace,
        recheckMs: 120_000,
        log,
        send: async (payloads) => {
          sent.push([...payloads]);
          if (failSends) throw new Error("connection refused");
          await sendNotifications(pool, payloads);
        },
      });
    const announcer = await start(schema.name);
    const listener = await start(schema.name); // stands for another endpoint: only a NOTIFY reaches it
    try {
      const found = new Set<string>();
      const woken = (notifier: PgEventNotifier, id: string) =>
        notifier.wait(id, 10_000, async () => (found.has(id) ? { processId: id, sequence: 1, type: "note", payload: null, occurredAtMs: 0 } : undefined));
      const ids = Array.from({ length: 20 }, (_, i) => `p-${i}`);
      const elsewhere = ids.map((id) => woken(listener, id));
      await delay(50); // every wait has made its first lookup
      for (const id of ids) found.add(id);
      for (const id of ids) announcer.announce(id);
      announcer.announce("p-0"); // twice in one tick: one notification
      const { ms } = await timed(() => Promise.all(elsewhere));
      assert.ok(ms < 2_000, `the other notifier's waiters woke ${ms} ms after the announcements (its re-check is 120 s)`);
      assert.deepEqual(sent, [ids.map((id) => `${schema.name}/${id}`)], "one statement carried the tick's announcements, each process once");

      failSends = true;
      found.add("p-local");
      const local = await timed(() => Promise.all([woken(announcer, "p-local"), Promise.resolve(announcer.announce("p-local"))]));
      assert.ok(local.ms < 1_000, `the announcing notifier's own waiter woke at once (${local.ms} ms)`);
      await until(
        async () => lines.some((l) => l.includes("could not send 1 event notification(s) (Error: connection refused)")),
        "the failed NOTIFY to be logged",
      );
      assert.ok(
        lines.every((l) => l.startsWith("WARN") && l.includes("re-check within 120000 ms")),
        lines.join("\n"),
      );
    } finally {
      await announcer.close();
      await listener.close();
      await pool.end();
    }
  });

  it("restores its LISTEN connection after the server drops it, and notifications wake waiters again", async () => {
    const app = schema.name;
    const { lines, log } = captureLog();
    const waiter = await open(schema.url({ application_name: app }), { recheckMs: 120_000, log });
    const writer = await open(schema.url()); // its local wake-ups never reach `waiter`: only NOTIFY does
    await writer.register(registration("p-1"));
    const waiting = waiter.waitEventAfter("p-1", "signal.go", 0, 10_000);
    assert.equal(await terminateSessions(`${app} listener`), 1);
    await until(async () => lines.some((l) => l.includes("LISTEN connection restored")), "the LISTEN connection to come back");
    await delay(50);
    const appended = await writer.appendEvent("p-1", { type: "signal.go", payload: 1 });
    const { result, ms } = await timed(() => waiting);
    assert.deepEqual(result, appended);
    assert.ok(ms < 2_000, `woken ${ms} ms after the append`);
    assert.ok(
      lines.some((l) => l.startsWith("WARN") && l.includes("lost its LISTEN connection")),
      lines.join("\n"),
    );
  });

  it("an idle pooled connection killed by the server is dropped without crashing; the next call works", async () => {
    const app = schema.name;
    const { lines, log } = captureLog();
    const registry = await open(schema.url({ application_name: app, pool: "2" }), { log });
    await registry.register(registration("p-1"));
    assert.ok((await terminateSessions(app)) >= 1);
    await until(async () => lines.some((l) => l.includes("dropped an idle connection")), "the pool to notice");
    assert.equal((await registry.get("p-1"))?.id, "p-1");
    assert.equal((await registry.appendEvent("p-1", { type: "note", payload: 1 })).sequence, 1);
  });

  it("close() rejects a pending waitEventAfter at once", async () => {
    const registry = await PostgresRegistry.open(schema.url());
    await registry.register(registration("p-1"));
    const waiting = registry.waitEventAfter("p-1", undefined, 0, 60_000).then(
      () => assert.fail("a wait on a closed registry resolved"),
      (err: unknown) => err,
    );
    await delay(20);
    const { ms } = await timed(() => registry.close());
    assert.match(String(await waiting), /the PostgreSQL registry is closed/);
    assert.ok(ms < 2_000);
  });
});
