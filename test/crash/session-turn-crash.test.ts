/**
 * A session turn survives a SIGKILL of its endpoint between the model's answer and the
 * tool's result: the answered model call is replayed from the journal (the scripted
 * server counts the requests), the tool child finishes, and the turn ends with exactly
 * one terminal outcome. On SQLite and PostgreSQL; the endpoint is `node src/main.ts`
 * configured by LASH_MODEL_* and LASH_TURN_TOOLS.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../support/restate-server.ts";
import { lastMessage, startScriptedModel, type ScriptedModel } from "../support/scripted-model.ts";
import { startStack, type Stack } from "../support/stack.ts";
import type { EndpointProcess } from "../support/endpoint-process.ts";
import { BACKENDS, openBackend, type OpenedBackend } from "../support/turn-backends.ts";

for (const backend of BACKENDS) {
  describe(`session turn across an endpoint SIGKILL on ${backend}`, { timeout: 240_000 }, () => {
    let model: ScriptedModel;
    let db: OpenedBackend;
    let stack: Stack<EndpointProcess>;

    before(async () => {
      model = await startScriptedModel();
      db = await openBackend(backend);
      stack = await startStack({
        entry: "src/main.ts",
        env: {
          LASH_REGISTRY_URL: db.url,
          LASH_RECOVER_ON_START: "0",
          LASH_MODEL_BASE_URL: model.url,
          LASH_MODEL: "scripted-crash",
          LASH_TURN_TOOLS: "std.sleep",
          RESTATE_LOGGING: "WARN",
        },
      });
    });
    after(async () => {
      await stack?.close();
      await model?.close();
      await db?.drop().catch(() => {});
    });

    it("does not send the answered model call again and ends exactly once", async () => {
      model.respond = (req) =>
        lastMessage(req).role === "user" ? { toolCalls: [{ id: "nap", name: "std_sleep", arguments: { ms: 4000 } }] } : { content: "rested" };
      const post = async (path: string, body?: unknown) => {
        const res = await fetch(`${stack.ingress}${path}`, {
          method: "POST",
          signal: AbortSignal.timeout(120_000),
          ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const started = await post("/LashProcesses/start", {
        registration: {
          id: "crash-turn",
          input: { type: "session_turn", session: "crash-session", turnInput: "take a nap" },
          provenance: { ownerScope: { sessionId: "crash-session" }, hostProfileId: "" },
        },
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      await waitFor(async () => (await db.registry.eventsAfter("crash-turn", 0)).some((e) => e.type === "turn.tool_call_started"), {
        what: "the tool child to start",
        timeoutMs: 60_000,
      });
      assert.equal(model.answered(), 1);
      await stack.endpoint.kill();
      await stack.endpoint.restart();

      const outcome = await post("/LashProcessWorkflow/crash-turn/awaitTerminal");
      assert.equal(outcome.body.type, "success", JSON.stringify(outcome.body));
      assert.equal(outcome.body.value.message, "rested");
      assert.equal(model.requests.length, 2, "the first model call was replayed from the journal, not sent again");
      assert.equal(model.answered(), 2);
      assert.equal(lastMessage(model.requests[1]!).content, '{"sleptMs":4000}');

      const events = await db.registry.eventsAfter("crash-turn", 0);
      const terminal = events.filter((e) => ["process.completed", "process.failed", "process.cancelled", "process.abandoned"].includes(e.type));
      assert.equal(terminal.length, 1, "exactly one terminal outcome");
      assert.equal(events.filter((e) => e.type === "turn.model_call_finished").length, 2);
      const entries = await db.sessions.read("crash-session");
      assert.deepEqual(
        entries.map((e) => e.message.role),
        ["user", "assistant", "tool", "assistant"],
        "no message written twice",
      );
    });
  });
}
