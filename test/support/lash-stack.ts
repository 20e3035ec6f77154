/**
 * A real lash stack for tests: restate-server from node_modules, the lash
 * services in-process over a fresh SQLite registry file, plus test plugins and
 * a wake inbox (a virtual object that records what it was sent).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as restate from "@restatedev/restate-sdk";
import { SqliteRegistry } from "../../src/registry/sqlite-registry.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";
import { createServices, type ServicesConfig } from "../../src/services/create-services.ts";
import { startStack, type Stack } from "./stack.ts";
import type { InProcessEndpoint } from "./in-process-endpoint.ts";
import type { WakeMessage } from "../../src/runtime/wake.ts";

/** A JSON answer body as tests read it: any shape, checked by the assertions that follow. */
export type AnyJson = any;

/** Records every wake it receives, per session key. */
export const wakeInbox = restate.object({
  name: "TestWakeInbox",
  handlers: {
    wake: async (ctx: restate.ObjectContext, msg: WakeMessage) => {
      const got = (await ctx.get<WakeMessage[]>("wakes")) ?? [];
      ctx.set("wakes", [...got, msg]);
    },
    list: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<WakeMessage[]>("wakes")) ?? []),
  },
});

/** What the ingress answers when a call fails (status >= 400). */
export interface ErrorBody {
  message: string;
  code?: number;
}

export interface LashStack {
  stack: Stack<InProcessEndpoint>;
  registry: ProcessRegistry;
  dir: string;
  ingress: string;
  admin: string;
  /**
   * POST JSON to the ingress (no body when `body` is undefined); returns status and parsed body (text when not JSON).
   * `T` is what the caller expects the body to be; nothing checks it, the assertions do.
   */
  post<T = AnyJson>(path: string, body?: unknown, raw?: string): Promise<{ status: number; body: T }>;
  get<T = AnyJson>(path: string): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startLashStack(
  config: Partial<ServicesConfig> & { registry?: ProcessRegistry; serverEnv?: Record<string, string> } = {},
): Promise<LashStack> {
  const { serverEnv, ...servicesConfig } = config;
  const dir = await mkdtemp(join(tmpdir(), "lash-test-"));
  const registry = config.registry ?? SqliteRegistry.open(join(dir, "registry.db"));
  const stackRef: { stack?: Stack<InProcessEndpoint> } = {};
  // The recovery service needs the server's URLs, known only once it runs:
  // resolve them lazily through a getter-backed object.
  const urls = {
    get adminUrl() {
      return stackRef.stack!.admin;
    },
    get ingressUrl() {
      return stackRef.stack!.ingress;
    },
  };
  const services = createServices({ ...servicesConfig, registry, restate: urls });
  const stack = await startStack([...services.all, wakeInbox], serverEnv ? { serverEnv } : {});
  stackRef.stack = stack;
  const request = async <T>(method: string, path: string, body?: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${stack.ingress}${path}`, {
      method,
      signal: AbortSignal.timeout(60_000),
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length ? JSON.parse(text) : undefined;
    } catch {
      // keep text
    }
    return { status: res.status, body: parsed as T };
  };
  return {
    stack,
    registry,
    dir,
    ingress: stack.ingress,
    admin: stack.admin,
    post: <T>(path: string, body?: unknown, raw?: string) => request<T>("POST", path, raw ?? (body === undefined ? undefined : JSON.stringify(body))),
    get: <T>(path: string) => request<T>("GET", path),
    async close() {
      await stack.close();
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A registration with sensible test defaults. */
export function registration(id: string, input: unknown, extra: Record<string, unknown> = {}) {
  return {
    id,
    input,
    eventTypes: [],
    provenance: { ownerScope: { sessionId: "s1" }, hostProfileId: "" },
    ...extra,
  };
}

export const tool = (name: string, args: unknown) => ({ type: "tool_call", call: { tool: name, args } });
