import assert from "node:assert/strict";
import { describe } from "node:test";
import type { ProcessRegistrationInput } from "../../src/model/index.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";
import { registration, rejectsWith, reverseKeys, type Case } from "./fixtures.ts";

/** A rejected registration leaves no trace: no row under its id, nothing listed. */
async function assertNothingWritten(registry: ProcessRegistry, id: string): Promise<void> {
  assert.equal(await registry.get(id), undefined);
  assert.deepEqual((await registry.list()).items, []);
}

async function assertRejected(registry: ProcessRegistry, reg: ProcessRegistrationInput, field: string): Promise<void> {
  await rejectsWith(registry.register(reg), "invalid_input", field);
  await assertNothingWritten(registry, reg.id);
}

export function registrationCases(test: Case): void {
  describe("register", () => {
    test("creates a pending row with defaults filled in, readable with get", async (registry) => {
      const { record, created } = await registry.register(registration("reg-1"));
      assert.equal(created, true);
      assert.equal(record.id, "reg-1");
      assert.equal(record.status, "pending");
      assert.equal(record.attempt, 1);
      assert.equal(record.maxAttempts, 3);
      assert.match(record.registrationHash, /^[0-9a-f]{64}$/);
      assert.equal(record.createdAtMs, record.updatedAtMs);
      assert.equal("outcome" in record, false);
      assert.deepEqual(record.input, { type: "program", name: "demo", args: { n: 1, tags: ["a", "b"] } });
      assert.deepEqual(await registry.get("reg-1"), record);
      assert.equal(await registry.get("reg-unknown"), undefined);
    });

    test("the same content in any key order returns the same row and hash, created false", async (registry) => {
      const first = await registry.register(registration("reg-2"));
      const again = await registry.register(reverseKeys(registration("reg-2")));
      assert.equal(again.created, false);
      assert.equal(again.record.registrationHash, first.record.registrationHash);
      assert.deepEqual(again.record, first.record);
      assert.deepEqual(
        (await registry.list()).items.map((r) => r.id),
        ["reg-2"],
      );
    });

    test("a registration rebuilt from the stored record (as recovery does) is the same registration", async (registry) => {
      const { record } = await registry.register(registration("reg-3")); // maxAttempts left to the default
      const { id, input, eventTypes, provenance, maxAttempts } = record;
      const rebuilt = await registry.register({ id, input, eventTypes, provenance, maxAttempts });
      assert.equal(rebuilt.created, false);
      assert.equal(rebuilt.record.registrationHash, record.registrationHash);
      const explicitDefault = await registry.register({ ...registration("reg-3"), maxAttempts: 3 });
      assert.equal(explicitDefault.created, false);
    });

    test("changed eventTypes or input under the same id -> registration_conflict, row unchanged", async (registry) => {
      const { record } = await registry.register(registration("reg-4"));
      await rejectsWith(registry.register(registration("reg-4", { eventTypes: [{ name: "note" }] })), "registration_conflict", "registration");
      await rejectsWith(
        registry.register(registration("reg-4", { input: { type: "program", name: "demo", args: { n: 2, tags: ["a", "b"] } } })),
        "registration_conflict",
      );
      await rejectsWith(registry.register(registration("reg-4", { maxAttempts: 5 })), "registration_conflict");
      assert.deepEqual(await registry.get("reg-4"), record);
    });

    test("a blank, over-long or badly spelled id -> invalid_input on registration.id, nothing written", async (registry) => {
      for (const id of ["", "   ", "a/b", "has space", "semi;colon", "x".repeat(201)]) {
        await assertRejected(registry, registration(id), "registration.id");
      }
      const longest = "x".repeat(200);
      assert.equal((await registry.register(registration(longest))).created, true);
    });

    test("duplicate event type names -> invalid_input on registration.eventTypes.1.name", async (registry) => {
      await assertRejected(registry, registration("reg-5", { eventTypes: [{ name: "note" }, { name: "note" }] }), "registration.eventTypes.1.name");
    });

    test("reserved or malformed event type names -> invalid_input on that name", async (registry) => {
      await assertRejected(registry, registration("reg-6", { eventTypes: [{ name: "process.custom" }] }), "registration.eventTypes.0.name");
      await assertRejected(registry, registration("reg-6", { eventTypes: [{ name: "ok" }, { name: "not ok" }] }), "registration.eventTypes.1.name");
    });

    test("an unknown input type -> invalid_input on registration.input.type", async (registry) => {
      await assertRejected(registry, registration("reg-7", { input: { type: "shell_script" } as never }), "registration.input.type");
    });

    test("an input over 256 KiB -> invalid_input on registration.input", async (registry) => {
      const args = { blob: "x".repeat(256 * 1024) };
      await assertRejected(registry, registration("reg-8", { input: { type: "program", name: "demo", args } }), "registration.input");
    });

    test("an unusable payloadSchema -> invalid_input on registration.eventTypes.N.payloadSchema", async (registry) => {
      const field = "registration.eventTypes.0.payloadSchema";
      for (const payloadSchema of ["not a schema", { $ref: "#/$defs/missing" }, { $ref: "https://example.com/x.json" }, { type: "string", pattern: "([" }]) {
        await assertRejected(registry, registration("reg-9", { eventTypes: [{ name: "e", payloadSchema }] }), field);
      }
      const usable = { $defs: { pct: { type: "number" } }, properties: { pct: { $ref: "#/$defs/pct" } } };
      assert.equal((await registry.register(registration("reg-9", { eventTypes: [{ name: "e", payloadSchema: usable }] }))).created, true);
    });

    test("maxAttempts outside 1..100 -> invalid_input on registration.maxAttempts", async (registry) => {
      for (const maxAttempts of [0, 101, 1.5]) {
        await assertRejected(registry, registration("reg-10", { maxAttempts }), "registration.maxAttempts");
      }
    });

    test("a missing provenance -> invalid_input on registration.provenance", async (registry) => {
      const { provenance: _omitted, ...rest } = registration("reg-11");
      await assertRejected(registry, rest as ProcessRegistrationInput, "registration.provenance");
    });
  });
}
