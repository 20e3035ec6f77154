/**
 * Concurrency limits: which limiter slots a process needs before its body runs.
 *
 * A limit key names one `LashConcurrencyLimiter` virtual object: `tool:<name>` or
 * `program:<name>` (from the definition's `maxConcurrent`, overridden by
 * `LASH_MAX_CONCURRENT`'s `<name>=N`) and `session:<sessionId>` (`session=N`).
 * Pure: no Restate, no I/O.
 */
import { z } from "zod";
import type { ProcessRecord, ProcessRegistration } from "../model/index.ts";
import type { PluginHost } from "./plugin.ts";

export const ConcurrencyLimits = z.object({
  /** Per tool or program name; wins over the definition's `maxConcurrent`. */
  byName: z.record(z.string(), z.number().int().min(1)).default({}),
  /** Per owner session (`provenance.ownerScope.sessionId`), top-level processes only. */
  session: z.number().int().min(1).optional(),
});
export type ConcurrencyLimits = z.infer<typeof ConcurrencyLimits>;

/** One slot a process must hold while its body runs. */
export interface LimitSlot {
  key: string;
  limit: number;
}

const NAME = /^[A-Za-z0-9._:-]+$/;

/**
 * Parses `LASH_MAX_CONCURRENT`: a comma list of `<tool or program>=N` and `session=N`,
 * e.g. `std.http=8,session=4`. Throws an Error naming the bad entry.
 */
export function parseMaxConcurrent(text: string): ConcurrencyLimits {
  const limits: ConcurrencyLimits = { byName: {} };
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const match = /^([^=\s]+)\s*=\s*(\d+)$/.exec(entry);
    const n = match === null ? NaN : Number(match[2]);
    if (match === null || !NAME.test(match[1]!) || !Number.isSafeInteger(n) || n < 1) {
      throw new Error(`"${entry}" is not <tool or program>=N or session=N with N >= 1 (e.g. std.http=8,session=4)`);
    }
    if (match[1] === "session") limits.session = n;
    else limits.byName[match[1]!] = n;
  }
  return limits;
}

/** True when any process on this endpoint can need a slot (so runs without limits pay nothing). */
export function limitsActive(limits: ConcurrencyLimits | undefined, plugins: PluginHost): boolean {
  if (limits?.session !== undefined || Object.keys(limits?.byName ?? {}).length > 0) return true;
  return plugins.definitions().some((d) => d.maxConcurrent !== undefined);
}

/**
 * The slots a process needs, sorted by key: every run takes them in this one order,
 * so two runs can never hold one each and wait for the other's (no lock cycle).
 * The session limit counts top-level processes only: a child runs on behalf of a
 * parent that already holds the session's slot (counting it would deadlock a
 * `session=1` parent waiting for its child). External processes never run here.
 */
export function slotsFor(
  limits: ConcurrencyLimits | undefined,
  plugins: PluginHost,
  reg: Pick<ProcessRegistration | ProcessRecord, "input" | "provenance">,
): LimitSlot[] {
  const slots: LimitSlot[] = [];
  const { input } = reg;
  if (input.type === "external") return slots;
  const named =
    input.type === "tool_call" ? { kind: "tool", name: input.call.tool } : input.type === "program" ? { kind: "program", name: input.name } : undefined;
  if (named !== undefined) {
    const limit = limits?.byName[named.name] ?? plugins.definitionOf(input)?.maxConcurrent;
    if (limit !== undefined) slots.push({ key: `${named.kind}:${named.name}`, limit });
  }
  if (limits?.session !== undefined && reg.provenance.causedBy?.kind !== "process") {
    slots.push({ key: `session:${reg.provenance.ownerScope.sessionId}`, limit: limits.session });
  }
  return slots.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
