import { DatabaseSync } from "node:sqlite";
import { rmSync } from "node:fs";
import { SqliteRegistry } from "../src/registry/sqlite-registry.ts";
import { registrationFor, toolCall } from "../bench/lib/requests.ts";
for (const extra of [[], ["PRAGMA temp_store = MEMORY"], ["PRAGMA cache_size = -32000"], ["PRAGMA synchronous = NORMAL"]]) {
  rmSync("/tmp/rb2", { recursive: true, force: true });
  await SqliteRegistry.open("/tmp/rb2/reg.db").close();
  const db = new DatabaseSync("/tmp/rb2/reg.db", { timeout: 5000, enableForeignKeyConstraints: true });
  for (const p of ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", ...extra]) db.exec(p);
  const r = new SqliteRegistry(db, "/tmp/rb2/reg.db");
  const N = 1500;
  let reg = 0, comp = 0;
  for (let i = 0; i < N; i++) {
    const id = `p-${i}`;
    let t0 = performance.now();
    await r.register(registrationFor(id, toolCall("std.echo", { value: i })), { startRun: `inv/${i}/1`, sessionCap: 10000 });
    reg += performance.now() - t0; t0 = performance.now();
    await r.complete(id, { type: "success", value: { ok: i } }, { replayKey: `inv/${i}/1` });
    comp += performance.now() - t0;
  }
  let t0 = performance.now();
  for (let b = 0; b < 40; b++) await Promise.all(Array.from({ length: 32 }, (_, j) => r.register(registrationFor(`c-${b}-${j}`, toolCall("std.echo", { value: j })), { startRun: `inv/c${b}/${j}` })));
  const conc = (performance.now() - t0) / 1280;
  console.log(JSON.stringify(extra).padEnd(34), "register", (reg / N).toFixed(3), "complete", (comp / N).toFixed(3), "concurrent-32 register", conc.toFixed(3), "ms");
  await r.close();
}
