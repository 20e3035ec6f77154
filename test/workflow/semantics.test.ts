/**
 * Agent-grade semantics: a retried start, authoritative cancellation with a bounded cleanup
 * scope, the parent-close policy, deadlines, recovery failures, and the pre-emption holes
 * closed (unknown ids leave no state, a foreign message never reaches a process's awaiters).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { adminQuery, waitFor } from "../support/restate-server.ts";
import { registration, startLashStack, tool, type LashStack } from "../support/lash-stack.ts";
import { overrideMethod } from "../support/registry-override.ts";
import { sideEffects, testPlugin } from "../support/test-plugin.ts";
import { semanticsPlugin } from "../support/semantics-plugin.ts";
import { childrenOf } from "../support/children.ts";
import type { ProcessRegistrationInput } from "../../src/model/index.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";

/** An answer body read field by field (assertions check the values). */
type Loose = { type?: string; [key: string]: unknown };

const program = (name: string, args: unknown) => ({ type: "program", name, args });

/**
 * A real SQLite registry whose `register` of the listed ids answers only after a delay (the write
 * itself is done at once), or with `failOnce` throws once after writing, as a crash right after the
 * write would leave it.
 */
function withSlowRegister(registry: ProcessRegistry, slow: Map<string, SlowRegister>): ProcessRegistry {
  return overrideMethod(registry, "register", (inner) => async (input, opts) => {
    const result = await inner.register(input, opts);
    const delayed = slow.get(input.id);
    if (delayed?.failOnce === true) {
      delayed.failOnce = false;
      throw new Error("register failed after its write (injected)");
    }
    if (delayed !== undefined) {
      delayed.written?.();
      await new Promise((r) => setTimeout(r, delayed.ms));
    }
    return result;
  });
}

interface SlowRegister {
  ms: number;
  written?: () => void;
  failOnce?: boolean;
}

describe("process semantics", () => {
  let s: LashStack;
  let dir = "";
  const slowRegisters = new Map<string, SlowRegister>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lash-semantics-"));
    const registry = withSlowRegister(SqliteRegistry.open(join(dir, "registry.db")), slowRegisters);
    s = await startLashStack({ plugins: [testPlugin, semanticsPlugin], registry });
  });
  after(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (reg: unknown) => {
    const res = await s.post<Loose>("/LashProcesses/start", { registration: reg });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const result = async (id: string) => (await s.post<Loose>(`/LashProcessWorkflow/${id}/awaitTerminal`)).body;
  const statusOf = async (id: string) => (await s.registry.get(id))?.status;
  const waiting = (id: string) => waitFor(async () => (await statusOf(id)) === "waiting", { timeoutMs: 20_000, what: `${id} waiting` });
  const types = async (id: string) => (await s.registry.eventsAfter(id, 0)).map((e) => e.type);

  describe("start", () => {
    it("a start retried after its registration was written registers again, sends run once and answers 200", async () => {
      slowRegisters.set("retried-start", { ms: 0, failOnce: true });
      const res = await s.post<Loose>("/LashProcesses/start", { registration: registration("retried-start", tool("std.echo", { value: 1 })) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(slowRegisters.get("retried-start")?.failOnce, false, "the first attempt failed after its write");
      assert.deepEqual(await result("retried-start"), { type: "success", value: 1 });
      assert.deepEqual(await types("retried-start"), ["process.started", "process.completed"]);
      const runs = await adminQuery(s.admin, "SELECT id FROM sys_invocation WHERE target_service_key = 'retried-start' AND target_handler_name = 'run'");
      assert.equal(runs.length, 1, "run was sent once");
    });
  });

  describe("authoritative cancellation", () => {
    it("a body that catches the cancellation and returns still ends cancelled, with the reason", async () => {
      await start(registration("swallow", program("sem.swallow_cancel", {})));
      await waiting("swallow");
      assert.deepEqual((await s.post("/LashProcessWorkflow/swallow/cancel", { reason: "stop now" })).body, { accepted: true, alreadyTerminal: false });
      assert.deepEqual(await result("swallow"), { type: "cancelled", message: "process cancelled: stop now", reason: "stop now" });
      assert.equal(await statusOf("swallow"), "cancelled");
    });

    it("after the cancel a plain step is refused, a cleanup step runs once, and the outcome stays cancelled", async () => {
      await start(registration("cleanup", program("sem.cleanup", { key: "cl" })));
      await waiting("cleanup");
      await s.post("/LashProcessWorkflow/cleanup/cancel", { reason: "bye" });
      const out = await result("cleanup");
      assert.equal(out.type, "cancelled");
      assert.equal(out.reason, "bye");
      assert.equal(sideEffects.get("cl:plain"), undefined, "a plain step after the cancel never runs");
      assert.equal(sideEffects.get("cl:refused"), 1);
      assert.equal(sideEffects.get("cl:cleanup"), 1);
    });

    it("cleanup is bounded by its grace period", async () => {
      await start(registration("cleanup-grace", program("sem.cleanup", { key: "cg", cleanupSleepMs: 600_000, graceMs: 300 })));
      await waiting("cleanup-grace");
      await s.post("/LashProcessWorkflow/cleanup-grace/cancel", {});
      assert.equal((await result("cleanup-grace")).type, "cancelled");
      assert.equal(sideEffects.get("cg:cleanup"), 1);
      assert.equal(sideEffects.get("cg:grace_over"), 1);
      assert.equal(sideEffects.get("cg:slept"), undefined);
    });

    it("an operator's `restate invocations cancel` (the CLI) ends the process cancelled, children included", async () => {
      await start(registration("cli-cancel", program("sem.spawn_and_wait", { depth: 1 })));
      const [child] = await waitFor(
        async () => {
          const found = await childrenOf(s.registry, "cli-cancel");
          return found.length === 1 && found[0]!.status === "waiting" ? found : undefined;
        },
        { timeoutMs: 20_000, what: "child waiting" },
      );
      const cli = spawnSync(
        process.execPath,
        [join("node_modules", ".bin", "restate"), "--yes", "invocations", "cancel", "LashProcessWorkflow/cli-cancel/run"],
        {
          encoding: "utf8",
          env: { ...process.env, RESTATE_ADMIN_URL: s.admin, NO_COLOR: "1" },
          timeout: 30_000,
        },
      );
      assert.equal(cli.status, 0, `${cli.stdout}${cli.stderr}`);
      const out = await result("cli-cancel");
      assert.equal(out.type, "cancelled");
      assert.equal((await result(child!.id)).type, "cancelled");
      assert.equal(await statusOf("cli-cancel"), "cancelled");
    });

    it("concurrent cancels store ONE process.cancel_requested and every one is accepted", async () => {
      await start(registration("many-cancels", tool("std.wait_signal", { name: "never" })));
      await waiting("many-cancels");
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => s.post("/LashProcessWorkflow/many-cancels/cancel", { reason: `r${i}` })));
      for (const a of answers) assert.deepEqual(a.body, { accepted: true, alreadyTerminal: false });
      assert.equal((await result("many-cancels")).type, "cancelled");
      assert.equal((await types("many-cancels")).filter((t) => t === "process.cancel_requested").length, 1);
    });

    it("accepted: true is answered only when the cancel wins a race with the body's completion", async () => {
      const ids = Array.from({ length: 60 }, (_, i) => `race-${i}`);
      const answers = await Promise.all(
        ids.map(async (id, i) => {
          const started = start(registration(id, tool("std.sleep", { ms: i % 3 })));
          await new Promise((r) => setTimeout(r, (i % 10) * 2));
          const cancel = await s.post(`/LashProcessWorkflow/${id}/cancel`, {});
          await started;
          return cancel.body as { accepted: boolean; alreadyTerminal: boolean };
        }),
      );
      for (const [i, id] of ids.entries()) {
        const out = await result(id);
        if (answers[i]!.accepted) assert.equal(out.type, "cancelled", `${id}: accepted, so the cancel must win`);
        else assert.deepEqual([answers[i]!.alreadyTerminal, out.type], [true, "success"], id);
      }
    });
  });

  describe("parent-close policy", () => {
    it("default cancel: a parent that returns cancels its live children, recursively", async () => {
      await start(registration("pc-parent", program("sem.spawn_and_return", { depth: 2, hold: true })));
      // The whole tree first: the grandchild waiting. A parent that returned at once could cancel its
      // child before that child started the grandchild (then there is no grandchild to cancel).
      await waiting("pc-parent.0.0");
      await s.post("/LashProcessWorkflow/pc-parent/signal", { name: "return" });
      assert.equal((await result("pc-parent")).type, "success");
      const [child] = await childrenOf(s.registry, "pc-parent");
      const childOut = await result(child!.id);
      assert.deepEqual([childOut.type, childOut.reason], ["cancelled", "parent pc-parent completed"]);
      const [grandchild] = await childrenOf(s.registry, child!.id);
      const grandOut = await result(grandchild!.id);
      assert.deepEqual([grandOut.type, grandOut.reason], ["cancelled", `parent ${child!.id} cancelled`]);
    });

    it("a parent cancelled while it registers a child still cancels that child (no orphan row)", async () => {
      const written = new Promise<void>((resolve) => slowRegisters.set("half.0", { ms: 2_000, written: resolve }));
      await start(registration("half", program("sem.spawn_and_wait", { depth: 1 })));
      await written; // the child's row exists; the parent's register step has not answered yet
      await s.post("/LashProcessWorkflow/half/cancel", { reason: "stop" });
      assert.equal((await result("half")).type, "cancelled");
      await waitFor(async () => (await statusOf("half.0")) === "cancelled", { timeoutMs: 20_000, what: "the half-started child cancelled" });
      assert.equal((await result("half.0")).reason, "parent half cancelled");
    });

    it("a parent that fails cancels its children too", async () => {
      await start(registration("pc-fail", program("sem.spawn_and_return", { fail: true })));
      assert.equal((await result("pc-fail")).type, "failure");
      const [child] = await childrenOf(s.registry, "pc-fail");
      const out = await result(child!.id);
      assert.deepEqual([out.type, out.reason], ["cancelled", "parent pc-fail failed"]);
    });

    it("abandon: the child lives on after its parent ended", async () => {
      await start(registration("pc-abandon", program("sem.spawn_and_return", { policy: "abandon" })));
      assert.equal((await result("pc-abandon")).type, "success");
      const [child] = await childrenOf(s.registry, "pc-abandon");
      await waiting(child!.id);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await statusOf(child!.id), "waiting");
      await s.post(`/LashProcessWorkflow/${child!.id}/cancel`, {});
      assert.equal((await result(child!.id)).type, "cancelled");
    });
  });

  describe("deadlines", () => {
    it("past registration.timeoutMs the outcome is failure{timeout, deadline_exceeded}", async () => {
      await start(registration("deadline", tool("std.wait_signal", { name: "never" }), { timeoutMs: 1500 }));
      const out = await result("deadline");
      assert.deepEqual([out.type, out.class, out.code], ["failure", "timeout", "deadline_exceeded"]);
      assert.deepEqual(await types("deadline"), ["process.started", "process.failed"]);
    });

    it("a body that swallows the deadline's interruption still fails deadline_exceeded", async () => {
      await start(registration("deadline-swallow", program("sem.swallow_cancel", {}), { timeoutMs: 1500 }));
      const out = await result("deadline-swallow");
      assert.deepEqual([out.type, out.code], ["failure", "deadline_exceeded"]);
    });

    it("children inherit the parent's remaining time unless shorter, and are cancelled at the parent's deadline", async () => {
      await start(registration("deadline-tree", program("sem.spawn_and_wait", { depth: 2 }), { timeoutMs: 3000 }));
      const out = await result("deadline-tree");
      assert.deepEqual([out.type, out.code], ["failure", "deadline_exceeded"]);
      const [child] = await childrenOf(s.registry, "deadline-tree");
      assert.ok(child!.timeoutMs !== undefined && child!.timeoutMs <= 3000, `child timeoutMs ${child!.timeoutMs}`);
      const [grandchild] = await childrenOf(s.registry, child!.id);
      assert.ok(grandchild!.timeoutMs !== undefined && grandchild!.timeoutMs <= child!.timeoutMs);
      for (const id of [child!.id, grandchild!.id]) {
        const o = await result(id);
        assert.ok(o.type === "cancelled" || o.code === "deadline_exceeded", `${id} ended ${JSON.stringify(o)}`);
      }
      await start(registration("deadline-short", program("sem.spawn_and_wait", { depth: 1, childTimeoutMs: 1000 }), { timeoutMs: 60_000 }));
      const [short] = await waitFor(
        async () => {
          const found = await childrenOf(s.registry, "deadline-short");
          return found.length ? found : undefined;
        },
        { timeoutMs: 20_000, what: "child" },
      );
      assert.equal(short!.timeoutMs, 1000);
      assert.equal((await result(short!.id)).code, "deadline_exceeded");
    });
  });

  describe("recovery failures", () => {
    it("a registered process whose tool this worker does not know ends process_recovery_failed, once", async () => {
      const reg = registration("gone-tool", tool("std.gone", {}));
      await s.registry.register(reg as ProcessRegistrationInput);
      await s.post("/LashProcessWorkflow/gone-tool/run/send", { registration: reg });
      const out = await result("gone-tool");
      assert.deepEqual([out.type, out.class, out.code], ["failure", "execution", "process_recovery_failed"]);
      assert.match(String(out.message), /unknown tool "std\.gone"/);
      const events = await s.registry.eventsAfter("gone-tool", 0);
      assert.deepEqual(
        events.map((e) => e.type),
        ["process.recovery_failed", "process.failed"],
      );
      const sweep = await s.post("/LashProcessRecovery/default/sweep", {});
      assert.equal(sweep.status, 200);
      assert.equal((await s.registry.get("gone-tool"))?.attempt, 1, "never resubmitted");
      assert.equal((await s.registry.eventsAfter("gone-tool", 0)).length, 2);
    });

    it("another host profile is a recovery failure of a registered process too", async () => {
      const reg = registration("other-host", tool("std.echo", { value: 1 }), { provenance: { ownerScope: { sessionId: "s1" }, hostProfileId: "elsewhere" } });
      await s.registry.register(reg as ProcessRegistrationInput);
      const out = (await s.post<Loose>("/LashProcessWorkflow/other-host/run", { registration: reg })).body;
      assert.deepEqual([out.type, out.code], ["failure", "process_recovery_failed"]);
      assert.match(String(out.message), /host_profile_mismatch/);
    });
  });

  describe("pre-emption holes", () => {
    it("a child id someone claimed first does not block the parent: that child takes <parent>.<n>-<random>", async () => {
      // Another caller registers the id the fan-out's first child would take, with other content.
      await start(registration("claim-fan.0", tool("std.echo", { value: "squatter" })));
      await start(registration("claim-fan", tool("std.fanout", { children: [tool("std.echo", { value: 0 }), tool("std.echo", { value: 1 })] })));
      const out = await result("claim-fan");
      assert.deepEqual(out, {
        type: "success",
        value: {
          results: [
            { type: "success", value: 0 },
            { type: "success", value: 1 },
          ],
        },
      });
      const children = (await childrenOf(s.registry, "claim-fan")).map((r) => r.id);
      assert.equal(children.length, 2);
      assert.match(children[0]!, /^claim-fan\.0-[0-9a-f]{12}$/);
      assert.equal(children[1], "claim-fan.1");
      assert.deepEqual((await s.registry.get("claim-fan.0"))?.outcome, { type: "success", value: "squatter" }, "the claimed row is untouched");
    });

    it("awaitTerminal on an id that is not registered is a prompt 404 that leaves nothing behind", async () => {
      const res = await s.post<Loose>("/LashProcessWorkflow/ghost-await/awaitTerminal");
      assert.equal(res.status, 404);
      assert.match(String(res.body.message), /^not_found:/);
      const live = await adminQuery(s.admin, "SELECT id FROM sys_invocation WHERE target_service_key = 'ghost-await' AND status != 'completed'");
      assert.deepEqual(live, []);
      assert.deepEqual(await adminQuery(s.admin, "SELECT key FROM sys_promise WHERE service_key = 'ghost-await'"), []);
    });

    it("a cancel of an unknown id leaves no durable promise, and a later start within the expiry never runs", async () => {
      assert.deepEqual((await s.post("/LashProcessWorkflow/ghost-cancel/cancel", {})).body, { accepted: true, alreadyTerminal: false });
      assert.deepEqual(await adminQuery(s.admin, "SELECT key FROM sys_promise WHERE service_key = 'ghost-cancel'"), []);
      await start(registration("ghost-cancel", tool("std.echo", { value: 1 })));
      assert.equal((await result("ghost-cancel")).type, "cancelled");
    });

    it("a run under a key with another registration id never reaches that key's awaiters, and does not poison the key", async () => {
      const foreign = await s.post("/LashProcessWorkflow/victim/run", { registration: registration("attacker", tool("std.echo", { value: "evil" })) });
      assert.equal(foreign.status, 400);
      await start(registration("victim", tool("std.echo", { value: "mine" })));
      // Before this change the refused run rejected the key's outcome promise: the victim's awaiter got a 500 with the attacker's message.
      const early = new AbortController();
      const awaited = fetch(`${s.ingress}/LashProcessWorkflow/victim/awaitTerminal`, { method: "POST", signal: early.signal }).then(
        async (res) => ({ status: res.status, text: await res.text() }),
        () => "still waiting",
      );
      const first = await Promise.race([awaited, new Promise((r) => setTimeout(() => r("still waiting"), 2000))]);
      early.abort();
      assert.equal(first, "still waiting", `the victim's awaiter was answered: ${JSON.stringify(first)}`);
      // The key holds the refused run: recovery frees it and runs the row's own registration, without counting an attempt.
      await waitFor(async () => (await s.post("/LashProcessRecovery/default/sweep", {})).status === 200 && (await statusOf("victim")) === "completed", {
        timeoutMs: 30_000,
        what: "victim completed",
      });
      assert.deepEqual(await result("victim"), { type: "success", value: "mine" });
      assert.equal((await s.registry.get("victim"))?.attempt, 1);
    });

    it("a caller cannot complete an external process as abandoned", async () => {
      await start(registration("ext", { type: "external", metadata: {} }));
      const res = await s.post<Loose>("/LashProcessWorkflow/ext/complete", { output: { type: "abandoned", evidence: { writer: "sweep", atMs: 1 } } });
      assert.equal(res.status, 400);
      assert.match(String(res.body.message), /output\/type/);
      assert.notEqual(await statusOf("ext"), "abandoned");
      await s.post("/LashProcessWorkflow/ext/complete", { output: { type: "success", value: 1 } });
    });
  });
});
