import { randomBytes, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LashClientError, type ProcessHandle } from "../client/index.ts";
import { LashError, ProcessId, type ProcessEvent } from "../model/index.ts";
import { ACTION_KINDS, FormError, answerPage, confirmPage, parseAction, runAction, type ActionKind } from "./action-pages.ts";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets.ts";
import { ConsoleBackend } from "./console-backend.ts";
import { html, layout, securityHeaders } from "./html.ts";
import { filterOf, processesPage, type ListQuery } from "./list-page.ts";
import { processPage } from "./process-page.ts";
import { sessionPage, type ConversationReader } from "./session-page.ts";
import { streamEvents } from "./event-stream.ts";

export interface ConsoleOptions {
  ingressUrl: string;
  adminUrl: string;
  /** Default 127.0.0.1. Any other (non-loopback) address requires `token`. */
  host?: string;
  /** Default 9091; 0 picks a free port. */
  port?: number;
  /** Required on every request when set: `?token=` once (then a cookie), or `Authorization: Bearer`. */
  token?: string;
  /** HOOK(turns): renders a session's conversation on `/sessions/<id>`. */
  conversation?: ConversationReader;
}

export interface ConsoleServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const COOKIE = "lash_console_token";
const BODY_LIMIT = 256 * 1024;

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The web console: server-rendered pages over Restate's ingress and admin API.
 * Every page carries a strict CSP (no inline script or style); every value is
 * HTML-escaped; actions go through a confirm step and carry a per-server CSRF token.
 */
export async function startConsole(opts: ConsoleOptions): Promise<ConsoleServer> {
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host) && !opts.token) {
    throw new LashError("invalid_input", `--host ${host} is not a loopback address: the console is reachable from other machines, so --token is required`, {
      field: "token",
    });
  }
  const backend = new ConsoleBackend({ ingressUrl: opts.ingressUrl, adminUrl: opts.adminUrl });
  const csrf = randomBytes(16).toString("hex");
  const streams = new Set<AbortController>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => fail(res, err));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://console.local");
    if (opts.token !== undefined && !authorized(req, res, url, opts.token)) return;
    const path = url.pathname;
    if (req.method === "GET" && path === "/assets/console.css") return send(res, 200, CONSOLE_CSS, "text/css; charset=utf-8", "public, max-age=300");
    if (req.method === "GET" && path === "/assets/console.js") return send(res, 200, CONSOLE_JS, "text/javascript; charset=utf-8", "public, max-age=300");
    if (req.method === "GET" && path === "/") return list(res, url);
    const proc = /^\/processes\/([^/]+)(\/stream|\/actions\/([a-z]+))?$/.exec(path);
    if (proc) {
      const id = processIdOf(proc[1]!);
      if (proc[2] === "/stream" && req.method === "GET") {
        const after = Number(req.headers["last-event-id"] ?? url.searchParams.get("after") ?? 0);
        return streamEvents(backend.client, id, Number.isSafeInteger(after) && after >= 0 ? after : 0, req, res, streams);
      }
      if (proc[3] !== undefined && req.method === "POST") return action(req, res, id, proc[3]);
      if (proc[2] === undefined && req.method === "GET") return processView(res, id);
    }
    const session = /^\/sessions\/([^/]+)$/.exec(path);
    if (session && req.method === "GET") {
      const sessionId = decodeURIComponent(session[1]!);
      const cursor = url.searchParams.get("cursor") ?? undefined;
      const page = await backend.list({ sessionId, limit: 50, ...(cursor ? { cursor } : {}) });
      return send(res, 200, sessionPage(sessionId, page, await opts.conversation?.(sessionId), cursor));
    }
    return send(res, 404, errorPage("Not found", `No page at ${path}.`));
  }

  async function list(res: ServerResponse, url: URL): Promise<void> {
    const q: ListQuery = {};
    for (const key of ["status", "session", "target", "q", "cursor"] as const) {
      const v = url.searchParams.get(key)?.trim();
      if (v) q[key] = v;
    }
    const filter = filterOf(q);
    const [page, counts] = await Promise.all([
      backend.list(filter),
      backend.counts({
        ...(filter.sessionId ? { sessionId: filter.sessionId } : {}),
        ...(filter.target ? { target: filter.target } : {}),
        ...(filter.idContains ? { idContains: filter.idContains } : {}),
      }),
    ]);
    send(res, 200, processesPage(q, page, counts));
  }

  async function processView(res: ServerResponse, id: string): Promise<void> {
    const record = await backend.client.get(id);
    const [events, children, ref] = await Promise.all([firstEvents(backend.client.handle(id), 1000), backend.children(id), backend.runInvocation(id)]);
    const invocation = ref === undefined ? undefined : { ref, url: backend.invocationUrl(ref.id) };
    send(res, 200, processPage({ record, events, children, invocation, csrf }));
  }

  async function action(req: IncomingMessage, res: ServerResponse, id: string, kindText: string): Promise<void> {
    if (!ACTION_KINDS.includes(kindText as ActionKind)) return send(res, 404, errorPage("Not found", `No action ${kindText}.`));
    const kind = kindText as ActionKind;
    const site = req.headers["sec-fetch-site"];
    const form = new URLSearchParams(await readBody(req));
    if ((site !== undefined && site !== "same-origin" && site !== "none") || form.get("csrf") !== csrf) {
      return send(res, 403, errorPage("Refused", "This form did not come from this console (stale page or another site): reload the page and try again."));
    }
    let parsed;
    try {
      parsed = parseAction(kind, form);
    } catch (err) {
      if (err instanceof FormError) return send(res, 400, errorPage("Check the form", err.message, id));
      throw err;
    }
    if (form.get("confirm") !== "yes") return send(res, 200, confirmPage(id, kind, form, parsed, csrf));
    try {
      const value = await runAction(backend.client, id, parsed);
      send(res, 200, answerPage(id, kind, { ok: true, value }));
    } catch (err) {
      if (!(err instanceof LashClientError)) throw err;
      send(res, err.status && err.status < 500 ? err.status : 502, answerPage(id, kind, { ok: false, error: `${err.code}: ${err.message}` }));
    }
  }

  server.listen(opts.port ?? 9091, host);
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    async close() {
      for (const stream of streams) stream.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function processIdOf(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment;
  }
  const parsed = ProcessId.safeParse(decoded);
  if (!parsed.success) throw new LashError("invalid_input", `not a process id: ${JSON.stringify(decoded)}`, { field: "id" });
  return parsed.data;
}

function authorized(req: IncomingMessage, res: ServerResponse, url: URL, token: string): boolean {
  const same = (given: string | undefined) => {
    if (given === undefined) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const fromQuery = url.searchParams.get("token");
  if (fromQuery !== null) {
    if (!same(fromQuery)) return denied(res);
    // Once: remember it in a cookie, and take it out of the address bar (and history).
    url.searchParams.delete("token");
    res.writeHead(303, {
      location: url.pathname + url.search,
      "set-cookie": `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      "cache-control": "no-store",
    });
    res.end();
    return false;
  }
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ") && same(auth.slice(7))) return true;
  const cookie = (req.headers.cookie ?? "")
    .split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`));
  if (cookie !== undefined && same(decodeURIComponent(cookie.slice(COOKIE.length + 1)))) return true;
  return denied(res);
}

function denied(res: ServerResponse): false {
  send(
    res,
    401,
    errorPage("Token required", "Open the console with ?token=<the token given to lashctl console --token>, or send Authorization: Bearer <token>."),
  );
  return false;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new LashError("invalid_input", `the form is larger than ${BODY_LIMIT} bytes`, { field: "body" }));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string, type = "text/html; charset=utf-8", cache = "no-store"): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { ...securityHeaders(), "content-type": type, "cache-control": cache });
  res.end(body);
}

function errorPage(title: string, message: string, backTo?: string): string {
  const back = backTo ? html`<a href="/processes/${encodeURIComponent(backTo)}">Back to ${backTo}</a>` : html`<a href="/">All processes</a>`;
  return layout({
    title,
    body: html`<h1>${title}</h1>
      <div class="card answer error" id="error">
        <p>${message}</p>
        <p>${back}</p>
      </div>`,
  });
}

function fail(res: ServerResponse, err: unknown): void {
  if (err instanceof LashClientError && err.code === "not_found") return send(res, 404, errorPage("Not found", err.message));
  if (err instanceof LashClientError && (err.code === "unreachable" || err.code === "not_deployed")) {
    return send(res, 502, errorPage("Restate unreachable", `${err.code}: ${err.message}`));
  }
  if (err instanceof LashError || (err instanceof LashClientError && err.code === "invalid_input"))
    return send(res, 400, errorPage("Bad request", err.message));
  send(res, 500, errorPage("Console error", err instanceof Error ? err.message : String(err)));
}

/** The first `max` events of a process's log (the page then follows the rest live). */
async function firstEvents(handle: ProcessHandle, max: number): Promise<ProcessEvent[]> {
  const events: ProcessEvent[] = [];
  for await (const event of handle.events({ pageSize: Math.min(max, 1000) })) {
    events.push(event);
    if (events.length >= max) break;
  }
  return events;
}
