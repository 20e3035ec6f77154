import { DatabaseSync } from "node:sqlite";
import { rmSync } from "node:fs";
import { SqliteRegistry } from "../src/registry/sqlite-registry.ts";
import { registrationFor, toolCall } from "../bench/lib/requests.ts";
rmSync("/tmp/sb", { recursive: true, force: true });
const r = SqliteRegistry.open("/tmp/sb/reg.db");
for (let i = 0; i < 3000; i++) {
  const id = `w-${i}`;
  await r.register(registrationFor(id, toolCall("std.echo", { value: i })), { startRun: `inv/${i}/1` });
  if (i % 2) await r.complete(id, { type: "success", value: { ok: i } }, { replayKey: `inv/${i}/1` });
}
await r.close();
const db = new DatabaseSync("/tmp/sb/reg.db");
db.exec("PRAGMA journal_mode=WAL"); db.exec("PRAGMA synchronous=FULL");
const N = 2000;
const time = (name: string, sql: string, params: (i: number) => (string | number | null)[]) => {
  const st = db.prepare(sql);
  db.exec("BEGIN IMMEDIATE");
  const t0 = performance.now();
  for (let i = 0; i < N; i++) st.run(...params(i));
  const us = ((performance.now() - t0) / N) * 1000;
  db.exec("ROLLBACK");
  console.log(name.padEnd(28), us.toFixed(1), "µs");
};
time("select process", "SELECT * FROM lash_processes WHERE id = ?", (i) => [`w-${i}`]);
time("setStatus running", "UPDATE lash_processes SET status = ?, updated_at_ms = ? WHERE id = ?", (i) => ["running", Date.now(), `w-${i * 2}`]);
time("nextSequence", "UPDATE lash_processes SET last_sequence = last_sequence + 1, updated_at_ms = ? WHERE id = ? RETURNING last_sequence", (i) => [Date.now(), `w-${i}`]);
time("insert event", "INSERT INTO lash_events (process_id, sequence, type, payload, occurred_at_ms, replay_key) VALUES (?, ?, ?, ?, ?, ?)", (i) => [`w-${i}`, 100 + i, "process.started", '{"attempt":1}', Date.now(), `inv/x${i}/1`]);
time("firstOfType", "SELECT * FROM lash_events WHERE process_id = ? AND type = ? ORDER BY sequence LIMIT 1", (i) => [`w-${i}`, "process.cancel_requested"]);
time("tombstone", "SELECT reason, expires_at_ms FROM lash_cancel_requests WHERE id = ?", (i) => [`w-${i}`]);
time("count session", "SELECT count(*) AS n FROM (SELECT 1 FROM lash_processes WHERE session_id = ? AND status IN ('queued', 'pending', 'running', 'waiting') LIMIT ?)", () => ["bench", 10000]);
console.log(db.prepare("SELECT sql FROM sqlite_master WHERE type='index'").all().map((r) => r.sql).join("\n"));
