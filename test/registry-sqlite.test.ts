import assert from "node:assert/strict";
import { openSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { BACKEND_PROFILES, MIGRATIONS, assertMigrationListIsOrdered } from "../src/registry/migrations.ts";
import { SqliteRegistry, openSqliteDatabase } from "../src/registry/sqlite-registry.ts";
import { GroupCommit } from "../src/registry/sqlite-group-commit.ts";
import { registryConformance } from "./registry-conformance.ts";
import { registration } from "./registry-conformance/fixtures.ts";
import { runNode } from "./support/child.ts";

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), "lash-sqlite-"));

registryConformance("sqlite", async () => {
  const dir = await tempDir();
  const registry = SqliteRegistry.open(join(dir, "registry.db"));
  return {
    registry,
    cleanup: async () => {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const APPENDER = fileURLToPath(new URL("./support/sqlite-appender.ts", import.meta.url));

/** The connection's `PRAGMA synchronous` level: 1 = NORMAL (no fsync at commit in WAL mode), 2 = FULL. */
function synchronousOf(db: DatabaseSync): number {
  return (db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
}

function readTable(path: string, sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe("SqliteRegistry on a file", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is durable, of kind sqlite, and creates missing parent directories", async () => {
    const path = join(dir, "a", "b", "registry.db");
    const registry = SqliteRegistry.open(path);
    try {
      assert.deepEqual([registry.kind, registry.durabilityTier, registry.path], ["sqlite", "durable", path]);
      assert.equal((await registry.register(registration("p-1"))).created, true);
    } finally {
      await registry.close();
    }
    const [mode] = readTable(path, "PRAGMA journal_mode");
    assert.equal(mode?.journal_mode, "wal");
  });

  it("survives close and reopen of the same file: rows, events and outcome", async () => {
    const path = join(dir, "registry.db");
    const first = SqliteRegistry.open(path);
    await first.register(registration("p-1"));
    await first.register(registration("p-2"));
    await first.markStarted("p-1", "inv-1");
    await first.appendEvent("p-1", { type: "progress", payload: { pct: 10 }, replayKey: "k" });
    const completed = await first.complete("p-1", { type: "success", value: { ok: true } });
    await first.close();
    await first.close(); // idempotent

    const reopened = SqliteRegistry.open(path);
    try {
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
    } finally {
      await reopened.close();
    }
  });

  it("waitEventAfter sees an event appended through another connection (by polling)", async () => {
    const path = join(dir, "registry.db");
    const waiter = SqliteRegistry.open(path, { pollMs: 25 });
    const writer = SqliteRegistry.open(path); // its in-process notify never reaches `waiter`
    try {
      await writer.register(registration("p-1"));
      const wait = waiter.waitEventAfter("p-1", "signal.go", 0, 10_000);
      await delay(50);
      const appended = await writer.appendEvent("p-1", { type: "signal.go", payload: { from: "elsewhere" } });
      const started = performance.now();
      assert.deepEqual(await wait, appended);
      assert.ok(performance.now() - started < 5_000);
    } finally {
      await waiter.close();
      await writer.close();
    }
  });

  it("applies each migration once, records it in lash_migrations, and reopening is a no-op", async () => {
    assertMigrationListIsOrdered();
    const first = MIGRATIONS[0]!;
    assert.throws(() => assertMigrationListIsOrdered([first, { ...first, version: 3, name: "skips_2" }]), /version 3; expected 2/);
    const path = join(dir, "registry.db");
    await SqliteRegistry.open(path).close();
    const firstRun = readTable(path, "SELECT version, name, applied_at_ms FROM lash_migrations ORDER BY version");
    assert.deepEqual(
      firstRun.map((r) => [r.version, r.name]),
      MIGRATIONS.map((m) => [m.version, m.name]),
    );
    await SqliteRegistry.open(path).close();
    await SqliteRegistry.open(path).close();
    assert.deepEqual(readTable(path, "SELECT version, name, applied_at_ms FROM lash_migrations ORDER BY version"), firstRun);
    const objects = readTable(path, "SELECT name FROM sqlite_master WHERE name LIKE 'lash_%' ORDER BY name").map((r) => r.name);
    assert.deepEqual(objects, [
      "lash_cancel_requests",
      "lash_cancel_requests_by_expiry",
      "lash_events",
      "lash_events_by_type",
      "lash_events_replay_key",
      "lash_migrations",
      "lash_processes",
      "lash_processes_by_session",
      "lash_processes_by_status",
      "lash_processes_finished_by_age",
      "lash_processes_live_by_id",
      "lash_processes_live_by_session",
      "lash_session_entries",
      "lash_session_entries_replay_key",
      "lash_sessions",
    ]);
  });

  it("upgrades a version-1 database to `queued` without losing a row or an event", async () => {
    const path = join(dir, "v1.db");
    const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
    db.exec(BACKEND_PROFILES.sqlite.versionTable);
    for (const statement of MIGRATIONS[0]!.sqlite) db.exec(statement);
    db.prepare(BACKEND_PROFILES.sqlite.insertApplied).run(1, MIGRATIONS[0]!.name, 0);
    // A row and its events as a version-1 build wrote them (its columns, no later ones).
    const reg = registration("old-1");
    db.prepare(
      `INSERT INTO lash_processes (id, registration_hash, input, event_types, provenance, session_id, max_attempts, status, attempt, outcome,
         created_at_ms, updated_at_ms, last_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 1, NULL, 1, 1, 2)`,
    ).run("old-1", "v1-hash", JSON.stringify(reg.input), "[]", JSON.stringify(reg.provenance), reg.provenance.ownerScope.sessionId, 3);
    const event = db.prepare("INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key) VALUES (?, ?, ?, ?, 1, ?)");
    event.run("old-1", 1, "process.started", JSON.stringify({ attempt: 1 }), "inv-1");
    event.run("old-1", 2, "process.cancel_requested", "{}", null);
    db.close();
    const registry = SqliteRegistry.open(path);
    try {
      assert.deepEqual(
        (await registry.eventsAfter("old-1", 0)).map((e) => e.type),
        ["process.started", "process.cancel_requested"],
      );
      await registry.setStatus("old-1", "queued");
      assert.equal((await registry.get("old-1"))?.status, "queued");
      assert.deepEqual(
        (await registry.listNonTerminal(10)).items.map((r) => r.id),
        ["old-1"],
      );
      await registry.complete("old-1", { type: "success", value: 1 });
      assert.equal((await registry.eventsAfter("old-1", 0)).length, 3);
    } finally {
      await registry.close();
    }
    const fk = readTable(path, "PRAGMA foreign_key_check");
    assert.deepEqual(fk, []);
  });

  it("refuses a database that a newer build migrated", async () => {
    const path = join(dir, "registry.db");
    await SqliteRegistry.open(path).close();
    const db = new DatabaseSync(path);
    db.prepare("INSERT INTO lash_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)").run(99, "from_the_future", 0);
    db.close();
    assert.throws(() => SqliteRegistry.open(path), /migration 99 "from_the_future".*upgrade/);
  });

  it("two OS processes appending 500 events each to one process id get sequences 1..1000, no gap, no duplicate", async () => {
    const path = join(dir, "shared.db"); // fresh: both children also race to create and migrate it
    const barrier = join(dir, "barrier");
    await mkdir(barrier);
    const writers = ["w1", "w2"];
    const results = await Promise.all(writers.map((w) => runNode([APPENDER, path, "shared", w, "500", barrier, String(writers.length)])));
    for (const r of results) assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr); // no ExperimentalWarning either
    const reported = results.map((r) => JSON.parse(r.stdout) as { writer: string; sequences: number[] });
    const allReported = reported.flatMap((r) => r.sequences).sort((a, b) => a - b);
    assert.deepEqual(
      allReported,
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );

    const registry = SqliteRegistry.open(path);
    try {
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
      assert.equal((await registry.list()).items.length, 1);
    } finally {
      await registry.close();
    }
  });

  it("group commit: concurrent writes share one transaction, and one that fails is rolled back alone", async () => {
    const path = join(dir, "registry.db");
    const registry = SqliteRegistry.open(path);
    // The WAL only grows here (far below the 1,000-page auto-checkpoint): a frame is a 24-byte header and a page.
    const walFrames = () => Math.floor((statSync(`${path}-wal`).size - 32) / (24 + 4096));
    try {
      await registry.register(registration("warm-up"));
      const before = walFrames();
      // 50 registrations issued together: one commit (a few WAL pages), not 50 commits of their own.
      const ids = Array.from({ length: 50 }, (_, i) => `p-${i}`);
      await Promise.all(ids.map((id) => registry.register(registration(id))));
      const frames = walFrames() - before;
      assert.ok(frames < 25, `50 concurrent registrations wrote ${frames} WAL frames; separate commits write at least 50`);
      // A failing write in the same batch rejects alone; its neighbours commit.
      const [first, missing, conflict, last] = await Promise.allSettled([
        registry.register(registration("q-1")),
        registry.appendEvent("no-such-process", { type: "note", payload: 1 }),
        registry.register(registration("p-0", { input: { type: "program", name: "other", args: {} } })),
        registry.markStarted("p-1", "run-1"),
      ]);
      assert.equal(first.status, "fulfilled");
      assert.equal(missing.status === "rejected" && (missing.reason as { code?: string }).code, "not_found");
      assert.equal(conflict.status === "rejected" && (conflict.reason as { code?: string }).code, "registration_conflict");
      assert.equal(last.status === "fulfilled" && last.value.status, "running");
    } finally {
      await registry.close();
    }
    // What the callers were told is what another connection reads.
    const rows = readTable(path, "SELECT id, status FROM lash_processes WHERE id IN ('q-1', 'p-0', 'p-1') ORDER BY id");
    assert.deepEqual(
      rows.map((r) => [r.id, r.status]),
      [
        ["p-0", "pending"],
        ["p-1", "running"],
        ["q-1", "pending"],
      ],
    );
  });

  it("group commit: a batch of nothing but deferred writes commits without an fsync (NORMAL); any other batch at the configured FULL", async () => {
    const path = join(dir, "deferred.db");
    const db = openSqliteDatabase(path);
    db.exec("CREATE TABLE t (v TEXT)");
    const commits = new GroupCommit(db, openSync(`${path}-wal`, "r"));
    const levelInside = () => synchronousOf(db);
    try {
      assert.equal(await commits.run(levelInside, { deferSync: true }), 1);
      // One durable write in the batch: the batch waits for its fsync, the deferred neighbour with it.
      assert.deepEqual(await Promise.all([commits.run(levelInside, { deferSync: true }), commits.run(levelInside)]), [2, 2]);
      assert.equal(await commits.run(levelInside), 2);
      assert.equal(await commits.run(levelInside, { deferSync: true }), 1);
    } finally {
      await commits.close();
      db.close();
    }
    // Without the WAL file to sync, nothing is deferred.
    const plain = openSqliteDatabase(join(dir, "plain.db"));
    try {
      const level = () => synchronousOf(plain);
      assert.equal(await new GroupCommit(plain).run(level, { deferSync: true }), 2);
    } finally {
      plain.close();
    }
  });

  it("a run's own start is a deferred write; a registration without startRun and an outcome wait for their fsync", async () => {
    const path = join(dir, "registry.db");
    const db = openSqliteDatabase(path);
    const registry = new SqliteRegistry(db, path);
    const level = () => synchronousOf(db);
    try {
      await registry.register(registration("pending-1"));
      assert.equal(level(), 2, "a registration a client is told about is on disk first");
      const started = await registry.register(registration("run-1"), { startRun: "run-1/1" });
      assert.equal(started.record.status, "running");
      assert.equal(level(), 1, "the run's start committed at NORMAL");
      // Committed when answered: another connection reads it at once.
      assert.deepEqual(
        readTable(path, "SELECT status FROM lash_processes WHERE id = 'run-1'").map((r) => r.status),
        ["running"],
      );
      await registry.complete("run-1", { type: "success", value: 1 }, { replayKey: "run-1/1" });
      assert.equal(level(), 2, "the outcome is on disk before its caller hears of it");
    } finally {
      await registry.close();
    }
  });

  it("group commit: a WAL sync that fails fails every later write, so nothing builds on frames that may be gone", async () => {
    const db = openSqliteDatabase(join(dir, "failing.db"));
    db.exec("CREATE TABLE t (v TEXT)");
    // fdatasync of a character device fails (EINVAL), as a disk's would with EIO.
    const commits = new GroupCommit(db, openSync("/dev/null", "r"));
    try {
      // A deferred write is answered at its commit: the sync that fails comes after.
      assert.equal(await commits.run(() => db.prepare("INSERT INTO t (v) VALUES ('a')").run().changes, { deferSync: true }), 1);
      let refused: unknown;
      for (let i = 0; i < 100 && refused === undefined; i++) {
        refused = await commits
          .run(() => db.prepare("INSERT INTO t (v) VALUES ('b')").run())
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        if (refused === undefined) await delay(10);
      }
      assert.match(String(refused), /the registry could not sync its WAL to disk; it refuses writes until restarted: .*EINVAL/);
      await assert.rejects(
        commits.run(() => 1, { deferSync: true }),
        /could not sync its WAL/,
      );
      assert.equal(db.isTransaction, false);
    } finally {
      await commits.close();
      db.close();
    }
  });

  it("group commit: a write that throws after writing leaves nothing, and the batch's other writes commit", async () => {
    const db = new DatabaseSync(":memory:");
    db.exec("CREATE TABLE t (v TEXT)");
    const commits = new GroupCommit(db);
    const insert = (v: string) => db.prepare("INSERT INTO t (v) VALUES (?)").run(v);
    const results = await Promise.allSettled([
      commits.run(() => insert("a")),
      commits.run(() => {
        insert("half-written");
        throw new Error("boom");
      }),
      commits.run(() => insert("c")),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.deepEqual(
      db
        .prepare("SELECT v FROM t ORDER BY v")
        .all()
        .map((r) => r.v),
      ["a", "c"],
    );
    assert.equal(db.isTransaction, false);
    db.close();
  });
});
