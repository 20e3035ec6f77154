/**
 * The ONE registry conformance suite. Every adapter runs it with one line, so the
 * memory, SQLite and PostgreSQL adapters are held to the same observable behaviour:
 *
 *   registryConformance("sqlite", async () => ({ registry, cleanup }));
 *
 * `open` is called once per case and must return a fresh, empty registry; `cleanup`
 * closes it and removes whatever it created.
 */
import { describe } from "node:test";
import { cancelCases } from "./registry-conformance/cancel-cases.ts";
import { eventCases } from "./registry-conformance/event-cases.ts";
import { caseFactory, type OpenRegistry } from "./registry-conformance/fixtures.ts";
import { lifecycleCases } from "./registry-conformance/lifecycle-cases.ts";
import { listingCases } from "./registry-conformance/listing-cases.ts";
import { patternCases } from "./registry-conformance/pattern-cases.ts";
import { registrationCases } from "./registry-conformance/registration-cases.ts";
import { retentionCases } from "./registry-conformance/retention-cases.ts";
import { waitCases } from "./registry-conformance/wait-cases.ts";

export type { OpenRegistry, OpenedRegistry } from "./registry-conformance/fixtures.ts";

export function registryConformance(name: string, open: OpenRegistry): void {
  describe(`registry conformance: ${name}`, () => {
    const test = caseFactory(open);
    registrationCases(test);
    eventCases(test);
    patternCases(test);
    lifecycleCases(test);
    waitCases(test);
    listingCases(test);
    cancelCases(test);
    retentionCases(test);
  });
}
