/**
 * Child process for the SQLite concurrency test: opens the shared registry file
 * (possibly fresh, so migrations race too), registers the shared process
 * (idempotently), waits at a file barrier until every writer is ready, then appends
 * `count` events and prints the sequences it was given as one JSON line.
 *
 *   node test/support/sqlite-appender.ts <dbPath> <processId> <writer> <count> <barrierDir> <writers>
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";

const [dbPath, processId, writer, count, barrierDir, writers] = process.argv.slice(2);
if (!dbPath || !processId || !writer || !count || !barrierDir || !writers) {
  throw new Error("usage: sqlite-appender.ts <dbPath> <processId> <writer> <count> <barrierDir> <writers>");
}

const registry = SqliteRegistry.open(dbPath);
await registry.register({
  id: processId,
  input: { type: "external", metadata: {} },
  eventTypes: [{ name: "tick" }],
  provenance: { ownerScope: { sessionId: "concurrency" }, hostProfileId: "" },
});

writeFileSync(join(barrierDir, writer), "");
const deadline = Date.now() + 15_000;
while (readdirSync(barrierDir).length < Number(writers)) {
  if (Date.now() > deadline) throw new Error(`barrier timed out for writer ${writer}`);
  await delay(5);
}

// A writer in a tight loop re-takes SQLite's write lock before the other one's busy
// handler wakes up, so the two would run one after the other. A millisecond between
// appends (as real writers have) makes them genuinely contend for every sequence.
const sequences: number[] = [];
for (let i = 0; i < Number(count); i++) {
  sequences.push((await registry.appendEvent(processId, { type: "tick", payload: { writer, i } })).sequence);
  await delay(1);
}
await registry.close();
process.stdout.write(`${JSON.stringify({ writer, sequences })}\n`);
