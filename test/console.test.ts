/**
 * The web console in a real browser (Debian's chromium via playwright-core) against
 * a real restate-server with the lash services in-process: the list shows started
 * processes newest first with counts; a process page's timeline updates without a
 * reload; cancel, signal and complete from the page reach the registry; values are
 * escaped; the token guards every request. Screenshots land in docs/.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { LashProcessClient } from "../src/client/index.ts";
import { startConsole, type ConsoleServer } from "../src/console/console-server.ts";
import type { ProcessRegistrationInput } from "../src/model/index.ts";
import { chromiumBinary, startBrowser, type Browser } from "./support/browser.ts";
import { startLashStack, type LashStack } from "./support/lash-stack.ts";
import { lashctl } from "./cli-runner.ts";

const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const WAIT = { timeout: 30_000 };

const reg = (id: string, input: ProcessRegistrationInput["input"], sessionId = "console-s1"): ProcessRegistrationInput => ({
  id,
  input,
  provenance: { ownerScope: { sessionId }, hostProfileId: "" },
});
const tool = (name: string, args: unknown): ProcessRegistrationInput["input"] => ({ type: "tool_call", call: { tool: name, args } });

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function csrfOf(page: Page, at: string): Promise<string> {
  await page.goto(at);
  return (await page.locator('input[name="csrf"]').first().getAttribute("value")) ?? "";
}

describe("web console", { timeout: 240_000 }, () => {
  // Fails at once, saying how to install it, when chromium is missing.
  chromiumBinary();
  let s: LashStack;
  let client: LashProcessClient;
  let web: ConsoleServer;
  let browser: Browser;
  let page: Page;
  const url = (path: string) => web.url.replace(/\/$/, "") + path;

  before(async () => {
    s = await startLashStack();
    client = new LashProcessClient({ ingressUrl: s.ingress });
    web = await startConsole({ ingressUrl: s.ingress, adminUrl: s.admin, port: 0 });
    browser = await startBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await web?.close();
    await s?.close();
  });

  it("lists started processes newest first, with counts by status and filters", async () => {
    const echo = await client.start(reg("web-echo", tool("std.echo", { value: "<script>alert(1)</script>" })));
    await echo.result();
    await client.start(reg("web-wait", tool("std.wait_signal", { name: "approve", count: 2 })));
    await client.start(reg("web-cancel", tool("std.wait_signal", { name: "never" })));
    await client.start(reg("web-ext", { type: "external", metadata: { ticket: "T-1" } }, "console-s2"));
    const fan = await client.start(reg("web-fan", tool("std.fanout", { children: [tool("std.echo", { value: 1 }), tool("std.sleep", { ms: 10 })] })));
    await fan.result();
    await until("web-wait waiting", async () => ((await client.get("web-wait")).status === "waiting" ? true : undefined));

    await page.goto(url("/"));
    const ids = await page
      .locator("table.processes tr[data-id]")
      .evaluateAll((elements: { dataset: Record<string, string> }[]) => elements.map((e) => e.dataset.id));
    assert.deepEqual(ids.slice(0, 5), ["web-fan.1", "web-fan.0", "web-fan", "web-ext", "web-cancel"]);
    for (const id of ["web-echo", "web-wait", "web-cancel", "web-ext", "web-fan"]) assert.ok(ids.includes(id), `${id} listed`);
    assert.equal(await page.locator('.counts a[data-status="completed"] b').textContent(), "4");
    assert.equal(await page.locator('.counts a[data-status="all"] b').textContent(), "7");
    await page.screenshot({ path: `${DOCS}console-processes.png` });

    await page.selectOption('select[name="status"]', "waiting");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/status=waiting/);
    const waiting = await page
      .locator("table.processes tr[data-id]")
      .evaluateAll((elements: { dataset: Record<string, string> }[]) => elements.map((e) => e.dataset.id));
    assert.deepEqual(waiting.sort(), ["web-cancel", "web-ext", "web-wait"]);
    await page.goto(url("/?target=std.echo"));
    assert.deepEqual(
      await page.locator("table.processes tr[data-id]").evaluateAll((elements: { dataset: Record<string, string> }[]) => elements.map((e) => e.dataset.id)),
      ["web-fan.0", "web-echo"],
    );

    // Everything is escaped: the echo's value shows as text, no script of it runs.
    await page.goto(url("/processes/web-echo"));
    assert.match((await page.locator("#outcome").textContent()) ?? "", /<script>alert\(1\)<\/script>/);
    assert.equal(await page.locator("script").count(), 1);
    const headers = (await page.request.get(url("/processes/web-echo"))).headers();
    assert.match(headers["content-security-policy"] ?? "", /script-src 'self'/);
  });

  it("shows events arriving on a process page without a reload, and sends a signal from the page", async () => {
    await page.goto(url("/processes/web-wait"));
    await page.waitForSelector("#live.on", WAIT);
    await page.evaluate("window.marker = 42");
    await client.handle("web-wait").signal("approve", { from: "api" });
    await page.waitForSelector('#timeline td.type:text-is("signal.approve")', WAIT);
    assert.equal(await page.evaluate("window.marker"), 42, "the page was not reloaded");
    await page.screenshot({ path: `${DOCS}console-process.png`, fullPage: true });

    await page.fill('#signal-form input[name="name"]', "approve");
    await page.fill('#signal-form textarea[name="payload"]', '{"from": "console"}');
    await page.click('#signal-form button[type="submit"]');
    await page.waitForSelector("#confirm", WAIT);
    assert.match((await page.locator("#confirm").textContent()) ?? "", /Send signal "approve" to process web-wait\?/);
    await page.click("#confirm-button");
    await page.waitForSelector("#answer", WAIT);
    assert.match((await page.locator("#answer pre").textContent()) ?? "", /"sequence": \d+/);

    const outcome = await client.handle("web-wait").result();
    assert.deepEqual(outcome, { type: "success", value: { payloads: [{ from: "api" }, { from: "console" }] } });
    await page.click("#back");
    assert.equal(await page.locator("#status").textContent(), "completed");
  });

  it("cancels a process from its page after a confirm step", async () => {
    await page.goto(url("/processes/web-cancel"));
    await page.fill('#cancel-form input[name="reason"]', "stopped from the console");
    await page.click('#cancel-form button[type="submit"]');
    await page.waitForSelector("#confirm", WAIT);
    assert.equal((await client.get("web-cancel")).status, "waiting", "nothing happens before the confirm");
    await page.click("#confirm-button");
    await page.waitForSelector("#answer", WAIT);
    assert.match((await page.locator("#answer pre").textContent()) ?? "", /"accepted": true/);
    const record = await until("web-cancel cancelled", async () => {
      const r = await client.get("web-cancel");
      return r.status === "cancelled" ? r : undefined;
    });
    assert.deepEqual(record.outcome, { type: "cancelled", message: "process cancelled: stopped from the console", reason: "stopped from the console" });
  });

  it("completes an external process from its page; shows children as a tree and a session's processes", async () => {
    await page.goto(url("/processes/web-ext"));
    await page.selectOption('#complete-form select[name="type"]', "success");
    await page.fill('#complete-form textarea[name="value"]', '{"done": true}');
    await page.click('#complete-form button[type="submit"]');
    await page.click("#confirm-button");
    await page.waitForSelector("#answer", WAIT);
    assert.deepEqual(await client.handle("web-ext").result(), { type: "success", value: { done: true } });

    await page.goto(url("/processes/web-fan"));
    const children = await page.locator("[data-child]").evaluateAll((elements: { dataset: Record<string, string> }[]) => elements.map((e) => e.dataset.child));
    assert.deepEqual(children, ["web-fan.0", "web-fan.1"]);
    assert.match((await page.locator("#restate-link").getAttribute("href")) ?? "", /\/ui\/invocations\/inv_/);

    await page.goto(url("/sessions/console-s2"));
    assert.deepEqual(
      await page.locator("table.processes tr[data-id]").evaluateAll((elements: { dataset: Record<string, string> }[]) => elements.map((e) => e.dataset.id)),
      ["web-ext"],
    );
  });

  it("refuses a bad form, a foreign form and an unknown process with clear pages", async () => {
    const res = await page.request.post(url("/processes/web-fan/actions/signal"), { form: { name: "x", csrf: "forged" } });
    assert.equal(res.status(), 403);
    const missing = await page.goto(url("/processes/no-such-process"));
    assert.equal(missing?.status(), 404);
    assert.match((await page.locator("#error").textContent()) ?? "", /"no-such-process" is not registered/);
    await client.start(reg("web-form", tool("std.wait_signal", { name: "never" })));
    const csrf = await csrfOf(page, url("/processes/web-form"));
    const bad = await page.request.post(url("/processes/web-form/actions/signal"), { form: { name: "bad name!", csrf } });
    assert.equal(bad.status(), 400);
    assert.match(await bad.text(), /name: 1\.\.200 letters/);
    const badJson = await page.request.post(url("/processes/web-form/actions/signal"), { form: { name: "ok", payload: "{nope", csrf } });
    assert.equal(badJson.status(), 400);
    assert.match(await badJson.text(), /payload: not valid JSON/);
    assert.equal((await client.get("web-form")).status !== "completed", true);
    assert.deepEqual(
      (await s.registry.eventsAfter("web-form", 0)).map((e) => e.type),
      ["process.started"],
      "nothing was sent",
    );
  });

  it("requires the token on every request when one is set; refuses a non-loopback bind without one", async () => {
    await assert.rejects(startConsole({ ingressUrl: s.ingress, adminUrl: s.admin, host: "0.0.0.0", port: 0 }), /--token is required/);
    const refused = await lashctl(["console", "--host", "0.0.0.0", "--port", "0"], { env: { RESTATE_INGRESS_URL: s.ingress, RESTATE_ADMIN_URL: s.admin } });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /not a loopback address.*--token is required/);
    const guarded = await startConsole({ ingressUrl: s.ingress, adminUrl: s.admin, port: 0, token: "s3cret-token" });
    try {
      const base = guarded.url.replace(/\/$/, "");
      assert.equal((await fetch(`${base}/`)).status, 401);
      assert.equal((await fetch(`${base}/assets/console.css`)).status, 401);
      assert.equal((await fetch(`${base}/`, { headers: { authorization: "Bearer wrong-token" } })).status, 401);
      assert.equal((await fetch(`${base}/`, { headers: { authorization: "Bearer s3cret-token" } })).status, 200);
      const first = await fetch(`${base}/processes/web-echo?token=s3cret-token`, { redirect: "manual" });
      assert.equal(first.status, 303);
      assert.equal(first.headers.get("location"), "/processes/web-echo");
      const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0]!;
      assert.equal((await fetch(`${base}/processes/web-echo`, { headers: { cookie } })).status, 200);
    } finally {
      await guarded.close();
    }
  });
});
