/**
 * Child process for the PostgreSQL multi-process tests (the counterpart of
 * sqlite-appender.ts). Every role opens the registry itself, so migrations,
 * sequences and notifications are exercised across OS processes. Prints one JSON line.
 *
 *   node test/support/pg-child.ts append  <url> <processId> <writer> <count> <barrierDir> <writers>
 *   node test/support/pg-child.ts migrate <url> <writer> <barrierDir> <writers>
 *   node test/support/pg-child.ts signal  <url> <processId> <type>
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { PostgresRegistry } from "../../src/registry/postgres-registry.ts";

const [role, url, ...rest] = process.argv.slice(2);
if (!role || !url) throw new Error("usage: pg-child.ts <append|migrate|signal> <url> …");

/** Waits until `writers` files exist in `dir` (each child adds its own), so the children start together. */
async function barrier(dir: string, writer: string, writers: number): Promise<void> {
  writeFileSync(join(dir, writer), "");
  const deadline = Date.now() + 15_000;
  while (readdirSync(dir).length < writers) {
    if (Date.now() > deadline) throw new Error(`barrier timed out for writer ${writer}`);
    await delay(2);
  }
}

const shared = (id: string) => ({
  id,
  input: { type: "external" as const, metadata: {} },
  eventTypes: [{ name: "tick" }],
  provenance: { ownerScope: { sessionId: "concurrency" }, hostProfileId: "" },
});

switch (role) {
  case "append": {
    const [processId, writer, count, barrierDir, writers] = rest;
    if (!processId || !writer || !count || !barrierDir || !writers) throw new Error("append: missing arguments");
    const registry = await PostgresRegistry.open(url);
    await registry.register(shared(processId));
    await barrier(barrierDir, writer, Number(writers));
    const sequences: number[] = [];
    for (let i = 0; i < Number(count); i++) {
      sequences.push((await registry.appendEvent(processId, { type: "tick", payload: { writer, i } })).sequence);
    }
    await registry.close();
    process.stdout.write(`${JSON.stringify({ writer, sequences })}\n`);
    break;
  }
  case "migrate": {
    const [writer, barrierDir, writers] = rest;
    if (!writer || !barrierDir || !writers) throw new Error("migrate: missing arguments");
    await barrier(barrierDir, writer, Number(writers));
    const registry = await PostgresRegistry.open(url); // every child races to create and migrate the schema
    const { created } = await registry.register(shared(`by-${writer}`));
    await registry.close();
    process.stdout.write(`${JSON.stringify({ writer, created })}\n`);
    break;
  }
  case "signal": {
    const [processId, type] = rest;
    if (!processId || !type) throw new Error("signal: missing arguments");
    const registry = await PostgresRegistry.open(url);
    const event = await registry.appendEvent(processId, { type, payload: { from: process.pid } });
    const committedAtMs = Date.now();
    await registry.close();
    process.stdout.write(`${JSON.stringify({ event, committedAtMs })}\n`);
    break;
  }
  default:
    throw new Error(`unknown role ${role}`);
}
