/**
 * The built-in session-turn runner against a scripted OpenAI-compatible server on
 * 127.0.0.1 (real HTTP), on SQLite (non-streamed answers) and PostgreSQL (streamed,
 * SSE): tool calls as child processes, the session's history, parallel calls, the
 * budget, the output contract, cancellation, and the model API's errors.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { ProcessEvent } from "../src/model/index.ts";
import { BACKENDS, openBackend, type OpenedBackend } from "./support/turn-backends.ts";
import { registration, startLashStack, type LashStack } from "./support/lash-stack.ts";
import { lastMessage, startScriptedModel, type ModelRequest, type Reply, type ScriptedModel } from "./support/scripted-model.ts";
import { waitFor } from "./support/restate-server.ts";

const turn = (session: string, turnInput: unknown, outputContract?: unknown) => ({
  type: "session_turn",
  session,
  turnInput,
  ...(outputContract === undefined ? {} : { outputContract }),
});

/** Tool call first, then a final answer quoting the tool's result. */
const echoThenAnswer = (req: ModelRequest): Reply =>
  lastMessage(req).role === "user"
    ? { toolCalls: [{ id: "call-1", name: "std_echo", arguments: { value: "hi" } }] }
    : { content: `the echo said ${lastMessage(req).content}` };

for (const backend of BACKENDS) {
  const stream = backend === "postgres";
  describe(`session turns on ${backend} (${stream ? "streamed" : "non-streamed"} answers)`, { timeout: 300_000 }, () => {
    let s: LashStack;
    let db: OpenedBackend;
    let model: ScriptedModel;

    const run = async (id: string, input: unknown) => {
      const started = await s.post("/LashProcesses/start", { registration: registration(id, input) });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const outcome = await s.post(`/LashProcessWorkflow/${id}/awaitTerminal`);
      assert.equal(outcome.status, 200, JSON.stringify(outcome.body));
      return outcome.body;
    };
    const events = async (id: string): Promise<ProcessEvent[]> => (await s.post("/LashProcesses/events", { id })).body.events;
    const types = async (id: string) => (await events(id)).map((e) => e.type);

    before(async () => {
      model = await startScriptedModel();
      db = await openBackend(backend);
      s = await startLashStack({
        registry: db.registry,
        sessions: db.sessions,
        model: { baseUrl: model.url, model: "scripted-1", tools: ["std.echo", "std.sleep"], stream, maxRetries: 2 },
      });
    });
    after(async () => {
      await s?.close();
      await db?.sessions.close();
      await model?.close();
      await db?.drop().catch(() => {});
    });
    beforeEach(() => {
      model.requests.length = 0;
    });

    it("a turn calls a tool as a child process, feeds its result back, and answers", async () => {
      model.respond = echoThenAnswer;
      const outcome = await run("t-basic", turn("s-basic", "say hi through the echo tool"));
      assert.equal(outcome.type, "success", JSON.stringify(outcome));
      assert.equal(outcome.value.message, 'the echo said "hi"');
      assert.equal(outcome.value.iterations, 2);
      assert.deepEqual(outcome.value.usage, { promptTokens: 20, completionTokens: 10, totalTokens: 30 });

      const [first, second] = model.requests;
      assert.equal(model.requests.length, 2);
      assert.equal(first!.body.model, "scripted-1");
      assert.equal(first!.body.stream ?? false, stream);
      assert.deepEqual(
        first!.body.tools.map((t: any) => t.function.name),
        ["std_echo", "std_sleep"],
        "exactly LASH_TURN_TOOLS is offered",
      );
      assert.deepEqual(first!.body.tools[0].function.parameters.required, ["value"]);
      assert.deepEqual(first!.body.messages, [{ role: "user", content: "say hi through the echo tool" }]);
      assert.deepEqual(lastMessage(second!), { role: "tool", tool_call_id: "call-1", content: '"hi"' });

      const log = await events("t-basic");
      assert.deepEqual(
        log.map((e) => e.type),
        [
          "process.started",
          "turn.model_call_started",
          "turn.model_call_finished",
          "turn.tool_call_started",
          "turn.tool_call_finished",
          "turn.model_call_started",
          "turn.model_call_finished",
          "turn.final_message",
          "process.completed",
        ],
      );
      const toolStarted = log.find((e) => e.type === "turn.tool_call_started")!.payload as any;
      assert.deepEqual(log.find((e) => e.type === "turn.model_call_finished")!.payload, {
        iteration: 1,
        finishReason: "tool_calls",
        toolCalls: 1,
        usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
      });
      const child = await s.post("/LashProcesses/get", { id: toolStarted.processId });
      assert.equal(child.body.status, "completed");
      assert.equal(child.body.provenance.causedBy.id, "t-basic");
      assert.deepEqual(child.body.input.call, { tool: "std.echo", args: { value: "hi" }, callId: "call-1" });

      const session = await s.post("/LashProcesses/session", { id: "s-basic" });
      assert.equal(session.status, 200);
      assert.deepEqual(
        session.body.entries.map((e: any) => [e.sequence, e.message.role, e.final]),
        [
          [1, "user", false],
          [2, "assistant", false],
          [3, "tool", false],
          [4, "assistant", true],
        ],
      );
      assert.equal(session.body.entries[2].message.processId, toolStarted.processId);
      assert.deepEqual(session.body.entries[3].usage, { promptTokens: 10, completionTokens: 5, totalTokens: 15 });
    });

    it("a second turn of the session sees the first one's conversation, then its own message", async () => {
      model.respond = echoThenAnswer;
      await run("t-hist-1", turn("s-hist", "first question"));
      model.requests.length = 0;
      model.respond = () => ({ content: "second answer" });
      const outcome = await run("t-hist-2", turn("s-hist", { message: "second question", note: "extra fields are fine" }));
      assert.equal(outcome.value.message, "second answer");
      const messages = model.requests[0]!.body.messages;
      assert.deepEqual(
        messages.map((m: any) => m.role),
        ["user", "assistant", "tool", "assistant", "user"],
      );
      assert.equal(messages[0].content, "first question");
      assert.equal(messages[1].tool_calls[0].function.name, "std_echo");
      assert.equal(messages[3].content, 'the echo said "hi"');
      assert.equal(messages[4].content, "second question");
      const session = await s.post("/LashProcesses/session", { id: "s-hist", after: 4 });
      assert.deepEqual(
        session.body.entries.map((e: any) => [e.sequence, e.turnId, e.message.role]),
        [
          [5, "t-hist-2", "user"],
          [6, "t-hist-2", "assistant"],
        ],
      );
    });

    it("parallel tool calls run as parallel children, results fed back in call order", async () => {
      model.respond = (req) =>
        lastMessage(req).role === "user"
          ? {
              toolCalls: [
                { id: "a", name: "std_sleep", arguments: { ms: 1500 } },
                { id: "b", name: "std_echo", arguments: { value: "b" } },
                { id: "c", name: "std_sleep", arguments: { ms: 1000 } },
              ],
            }
          : { content: "done" };
      const outcome = await run("t-par", turn("s-par", "three at once"));
      assert.equal(outcome.type, "success", JSON.stringify(outcome));
      const log = await types("t-par");
      const firstFinished = log.indexOf("turn.tool_call_finished");
      assert.equal(log.slice(0, firstFinished).filter((t) => t === "turn.tool_call_started").length, 3, "all three started before any finished");
      const toolMessages = model.requests[1]!.body.messages.filter((m: any) => m.role === "tool");
      assert.deepEqual(
        toolMessages.map((m: any) => [m.tool_call_id, m.content]),
        [
          ["a", '{"sleptMs":1500}'],
          ["b", '"b"'],
          ["c", '{"sleptMs":1000}'],
        ],
      );
    });

    it("a turn that keeps calling tools ends failure{resource_limit} when its iteration or token budget is spent", async () => {
      model.respond = () => ({ toolCalls: [{ id: `x`, name: "std_echo", arguments: { value: 1 } }], usage: { prompt: 40, completion: 10 } });
      const iterations = await run("t-budget-it", turn("s-budget", { message: "loop", maxIterations: 2 }));
      assert.equal(iterations.type, "failure");
      assert.equal(iterations.class, "resource_limit");
      assert.equal(iterations.code, "turn_iterations_exhausted");
      assert.equal(model.requests.length, 2);
      model.requests.length = 0;
      const tokens = await run("t-budget-tok", turn("s-budget", { message: "loop", maxTokens: 120 }));
      assert.equal(tokens.class, "resource_limit");
      assert.equal(tokens.code, "turn_tokens_exhausted");
      assert.match(tokens.message, /150 tokens.*budget 120/);
      assert.equal(model.requests.length, 3, "stops at the first call past the budget");
    });

    it("an output contract is asked for as structured output and checked", async () => {
      const contract = { type: "object", properties: { answer: { type: "number" } }, required: ["answer"] };
      model.respond = () => ({ content: '{"answer": "forty-two"}' });
      const bad = await run("t-contract-bad", turn("s-contract", "answer in JSON", contract));
      assert.equal(bad.type, "failure");
      assert.equal(bad.class, "execution");
      assert.equal(bad.code, "output_contract");
      assert.match(bad.message, /answer/);
      assert.deepEqual(model.requests[0]!.body.response_format, { type: "json_schema", json_schema: { name: "output_contract", schema: contract } });
      model.respond = () => ({ content: '{"answer": 42}' });
      const good = await run("t-contract-good", turn("s-contract", "answer in JSON", contract));
      assert.equal(good.type, "success");
      assert.deepEqual(good.value.output, { answer: 42 });
      model.respond = () => ({ content: "plain prose" });
      const prose = await run("t-contract-prose", turn("s-contract", "answer in JSON", contract));
      assert.equal(prose.code, "output_contract");
      assert.match(prose.message, /not JSON/);
    });

    it("an output contract whose pattern backtracks on the answer fails output_contract at the time limit, off the event loop", async () => {
      const contract = { type: "object", properties: { text: { type: "string", pattern: "^\\w*\\w*\\w*!$" } }, required: ["text"] };
      model.respond = () => ({ content: JSON.stringify({ text: "a".repeat(3000) }) });
      let last = performance.now();
      let blockedMs = 0;
      const ticker = setInterval(() => {
        blockedMs = Math.max(blockedMs, performance.now() - last);
        last = performance.now();
      }, 10);
      const start = performance.now();
      const slow = await run("t-contract-slow", turn("s-contract-re", "answer in JSON", contract)).finally(() => clearInterval(ticker));
      const ms = performance.now() - start;
      assert.equal(slow.type, "failure", JSON.stringify(slow));
      assert.equal(slow.class, "execution");
      assert.equal(slow.code, "output_contract");
      assert.match(slow.message, /the output contract took longer than 1000 ms to evaluate .*simplify its patterns/);
      assert.ok(ms < 15_000, `the turn ended in ${Math.round(ms)} ms`);
      assert.ok(blockedMs < 500, `the event loop was blocked for ${Math.round(blockedMs)} ms`);
      model.respond = () => ({ content: '{"text": "fine!"}' });
      const good = await run("t-contract-re-good", turn("s-contract-re", "answer in JSON", contract));
      assert.equal(good.type, "success", JSON.stringify(good));
      assert.deepEqual(good.value.output, { text: "fine!" });
      model.respond = () => ({ content: '{"text": "no bang"}' });
      const bad = await run("t-contract-re-bad", turn("s-contract-re", "answer in JSON", contract));
      assert.equal(bad.code, "output_contract");
      assert.match(bad.message, /at text: String does not match pattern/);
    });

    it("cancel mid-turn stops the in-flight model call and cancels the tool children", async () => {
      model.respond = (req) =>
        lastMessage(req).role === "user" ? { toolCalls: [{ id: "slow", name: "std_sleep", arguments: { ms: 120_000 } }] } : { hang: true };
      await s.post("/LashProcesses/start", { registration: registration("t-cancel-tool", turn("s-cancel", "sleep long")) });
      const started = await waitFor(async () => (await events("t-cancel-tool")).find((e) => e.type === "turn.tool_call_started"), {
        what: "the tool child to start",
        timeoutMs: 60_000,
      });
      const childId = (started.payload as any).processId;
      assert.equal((await s.post("/LashProcessWorkflow/t-cancel-tool/cancel", { reason: "user pressed stop" })).status, 200);
      const outcome = (await s.post("/LashProcessWorkflow/t-cancel-tool/awaitTerminal")).body;
      assert.equal(outcome.type, "cancelled");
      const child = (await s.post(`/LashProcessWorkflow/${childId}/awaitTerminal`)).body;
      assert.equal(child.type, "cancelled", "the tool child is cancelled with its turn");

      model.requests.length = 0;
      model.respond = () => ({ hang: true });
      await s.post("/LashProcesses/start", { registration: registration("t-cancel-model", turn("s-cancel-2", "think forever")) });
      await waitFor(() => model.requests.length === 1, { what: "the model call to be in flight", timeoutMs: 60_000 });
      await s.post("/LashProcessWorkflow/t-cancel-model/cancel", {});
      assert.equal((await s.post("/LashProcessWorkflow/t-cancel-model/awaitTerminal")).body.type, "cancelled");
      await waitFor(() => model.requests[0]!.abandoned, { what: "the in-flight request to be aborted", timeoutMs: 30_000 });
      const log = await types("t-cancel-model");
      assert.equal(log.filter((t) => t.startsWith("process.") && t !== "process.started" && t !== "process.cancel_requested").length, 1);
    });

    it("a 429 is retried inside the step; a 400 ends the turn naming the status and the provider's message", async () => {
      model.respond = (req) =>
        req.n === 1 ? { status: 429, body: { error: { message: "slow down" } }, headers: { "retry-after-ms": "10" } } : { content: "after the retry" };
      const retried = await run("t-429", turn("s-errors", "hello"));
      assert.equal(retried.type, "success");
      assert.equal(retried.value.message, "after the retry");
      assert.equal(model.requests.length, 2);

      model.requests.length = 0;
      model.respond = () => ({ status: 400, body: { error: { message: "messages: too long for this model", type: "invalid_request_error" } } });
      const rejected = await run("t-400", turn("s-errors", "hello"));
      assert.equal(rejected.type, "failure");
      assert.equal(rejected.class, "invalid_request");
      assert.equal(rejected.code, "model_request_rejected");
      assert.match(rejected.message, /HTTP 400: messages: too long for this model/);
      assert.equal(model.requests.length, 1, "a 400 is not retried");
    });

    it("bad turn input fails before any model call; a tool the model may not call is answered with an error it can read", async () => {
      const bad = await run("t-bad-input", turn("s-bad", { note: "no message" }));
      assert.equal(bad.class, "invalid_request");
      assert.equal(bad.code, "invalid_turn_input");
      assert.match(bad.message, /turnInput\.message/);
      model.respond = () => ({ content: "should not be asked" });
      const badContract = await run("t-bad-contract", turn("s-bad", "x", { type: "string", pattern: "(" }));
      assert.equal(badContract.code, "invalid_output_contract");
      assert.equal(model.requests.length, 0);

      model.respond = (req) =>
        lastMessage(req).role === "user"
          ? {
              toolCalls: [
                { id: "evil", name: "std_shell", arguments: { command: "true" } },
                { id: "junk", name: "std_echo", arguments: "{not json" },
              ],
            }
          : { content: "ok" };
      const outcome = await run("t-unknown-tool", turn("s-bad", "try things"));
      assert.equal(outcome.type, "success");
      const results = model.requests[1]!.body.messages.filter((m: any) => m.role === "tool");
      assert.equal(JSON.parse(results[0].content).error, 'unknown tool "std_shell" (offered: std_echo, std_sleep)');
      assert.match(JSON.parse(results[1].content).error, /not a JSON object/);
      assert.ok(!(await types("t-unknown-tool")).includes("turn.tool_call_started"), "nothing was started");
    });

    it("LashProcesses/tools lists the catalog with JSON Schema arguments", async () => {
      const res = await s.post("/LashProcesses/tools");
      assert.equal(res.status, 200);
      const echo = res.body.tools.find((t: any) => t.name === "std.echo");
      assert.equal(echo.kind, "tool");
      assert.equal(echo.argsSchema.type, "object");
      assert.deepEqual(echo.argsSchema.required, ["value"]);
      assert.ok(res.body.tools.some((t: any) => t.name === "std.fanout"));
    });
  });
}
