import assert from "node:assert/strict";
import { it } from "node:test";
import { isLashError, type ErrorCode, type LashError, type ProcessRegistrationInput } from "../../src/model/index.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";

export interface OpenedRegistry {
  registry: ProcessRegistry;
  cleanup: () => Promise<void>;
}
export type OpenRegistry = () => Promise<OpenedRegistry>;

/** Defines one case; each gets a fresh registry and always cleans it up. */
export type Case = (title: string, body: (registry: ProcessRegistry) => Promise<void>) => void;

export function caseFactory(open: OpenRegistry): Case {
  return (title, body) => {
    it(title, async () => {
      const { registry, cleanup } = await open();
      try {
        await body(registry);
      } finally {
        await cleanup();
      }
    });
  };
}

/** `progress` has a payload schema, `note` has none. */
export const PROGRESS_SCHEMA = {
  type: "object",
  properties: { pct: { type: "number", minimum: 0, maximum: 100 } },
  required: ["pct"],
};

export function registration(id: string, over: Partial<ProcessRegistrationInput> = {}): ProcessRegistrationInput {
  return {
    id,
    input: { type: "program", name: "demo", args: { n: 1, tags: ["a", "b"] } },
    eventTypes: [{ name: "progress", payloadSchema: PROGRESS_SCHEMA }, { name: "note" }],
    provenance: { ownerScope: { sessionId: "session-a", agentFrameId: "frame-1" }, hostProfileId: "host-1" },
    ...over,
  };
}

export function inSession(id: string, sessionId: string): ProcessRegistrationInput {
  return registration(id, { provenance: { ownerScope: { sessionId }, hostProfileId: "host-1" } });
}

/** Awaits `action` and asserts it failed with a LashError of `code` (and `field`, when given). */
export async function rejectsWith(action: Promise<unknown>, code: ErrorCode, field?: string): Promise<LashError> {
  let threw = false;
  let caught: unknown;
  try {
    await action;
  } catch (err) {
    threw = true;
    caught = err;
  }
  assert.ok(threw, `expected a ${code} error, but the call succeeded`);
  assert.ok(isLashError(caught), `expected a LashError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (field !== undefined) assert.equal(caught.field, field, caught.message);
  return caught;
}

/** The same value with object keys in reverse order at every depth. */
export function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    ) as T;
  }
  return value;
}

/** Milliseconds `action` took, with its result. */
export async function timed<T>(action: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await action();
  return { result, ms: performance.now() - start };
}
