/**
 * Property test against a running endpoint (a child process, so an exit is seen):
 * generated registrations, signals and `complete` outputs, with deep nesting, huge
 * strings, odd Unicode (lone surrogates, NUL) and `__proto__` keys. Every answer is a
 * 2xx or a 4xx, the endpoint never exits, and a refused start leaves no row.
 * Bounded: a fixed number of runs, and a time limit on each property.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { pidGone } from "../support/child.ts";
import { startCrashStack, type CrashStack } from "../support/crash-stack.ts";

const RUNS = 100;
const TIME_LIMIT_MS = 90_000;
const DEEP = "@@DEEP@@";

const oddString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("\u0000", "\ud800", "x\udfffy", "__proto__", "constructor", "\u202e\u200b", "😀\ud83d"),
  fc.integer({ min: 1, max: 400_000 }).map((n) => "h".repeat(n)),
);
const key = fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "prototype", "", "\u0000"));
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    oddString,
    fc.constant(DEEP),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(key, tie("v"), { maxKeys: 4 }),
  ),
})).v;
const deepLevels = fc.integer({ min: 40, max: 12_000 });

/** JSON text with every DEEP marker replaced by a value nested `levels` deep. */
function bodyText(body: unknown, levels: number): string {
  return JSON.stringify(body).replaceAll(JSON.stringify(DEEP), "[".repeat(levels) + "]".repeat(levels));
}

describe("fuzzing the ingress never takes the endpoint down", () => {
  let s: CrashStack;
  let n = 0;
  before(async () => {
    s = await startCrashStack();
    const res = await s.post("/LashProcesses/start", {
      registration: { id: "fz-ext", input: { type: "external" }, provenance: { ownerScope: { sessionId: "fuzz" }, hostProfileId: "" } },
    });
    assert.equal(res.status, 200);
  });
  after(async () => s?.close(), { timeout: 60_000 });

  async function send(path: string, text: string): Promise<number> {
    const res = await fetch(`${s.restate.ingressUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: text,
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  }

  const alive = () => assert.ok(!pidGone(s.endpoint.pid), `the endpoint exited:\n${s.endpoint.output().slice(-3000)}`);
  const answered = (status: number, what: string) => assert.ok(status >= 200 && status < 500, `${what} answered ${status}`);

  it("registrations: 2xx or 4xx, and a refused one writes no row", { timeout: TIME_LIMIT_MS * 2 }, async () => {
    const registration = fc.record({
      idSuffix: fc.oneof(fc.constant(""), fc.constant(" bad"), fc.string({ unit: "binary", maxLength: 6 })),
      tool: fc.constantFrom("std.echo", "std.fail", "std.nope", "std.sleep"),
      args: value,
      eventTypes: fc.array(
        fc.record({
          name: fc.oneof(fc.constantFrom("e", "process.x"), fc.string({ maxLength: 8 })),
          payloadSchema: fc.option(fc.dictionary(key, value, { maxKeys: 3 }), { nil: undefined }),
        }),
        { maxLength: 2 },
      ),
      executionContext: fc.option(fc.dictionary(key, value, { maxKeys: 3 }), { nil: undefined }),
      direct: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(registration, deepLevels, async (r, levels) => {
        const id = `fz-${++n}${r.idSuffix}`;
        const body = {
          registration: {
            id,
            input: { type: "tool_call", call: { tool: r.tool, args: r.tool === "std.sleep" ? { ms: 1 } : { value: r.args } } },
            eventTypes: r.eventTypes,
            provenance: { ownerScope: { sessionId: "fuzz" }, hostProfileId: "" },
          },
          ...(r.executionContext === undefined ? {} : { executionContext: r.executionContext }),
        };
        const path = r.direct && /^[A-Za-z0-9._:-]+$/.test(id) ? `/LashProcessWorkflow/${id}/run/send` : "/LashProcesses/start";
        const status = await send(path, bodyText(body, levels));
        answered(status, `start ${JSON.stringify(id)}`);
        alive();
        if (status >= 400 && path === "/LashProcesses/start") {
          try {
            assert.equal(await s.registry.get(id), undefined, `refused start of ${JSON.stringify(id)} left a row`);
          } catch (err) {
            if (!/invalid|process id/i.test(String(err))) throw err; // an id the registry itself refuses to look up
          }
        }
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: 14 },
    );
  });

  it("signals and complete outputs: 2xx or 4xx", { timeout: TIME_LIMIT_MS * 2 }, async () => {
    const output = fc.oneof(
      fc.record({ type: fc.constant("success"), value }),
      fc.record({ type: fc.constant("failure"), class: fc.constantFrom("execution", "bogus"), code: oddString, message: oddString, raw: value }),
      fc.record({ type: fc.constantFrom("cancelled", "abandoned", "weird"), message: oddString }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.oneof(fc.constant("note"), fc.string({ maxLength: 10 })),
        value,
        output,
        deepLevels,
        async (signal, name, payload, out, levels) => {
          const status = signal
            ? await send("/LashProcessWorkflow/fz-ext/signal", bodyText({ name, payload }, levels))
            : await send(`/LashProcessWorkflow/fz-missing-${++n}/complete`, bodyText({ output: out }, levels));
          answered(status, signal ? "signal" : "complete");
          alive();
        },
      ),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: 15 },
    );
    alive();
    assert.equal(s.endpoint.pids.length, 1);
  });
});
