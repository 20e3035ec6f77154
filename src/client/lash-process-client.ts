import * as clients from "@restatedev/restate-sdk-clients";
import type { z } from "zod";
import type { ProcessAwaitOutput } from "../model/outcome.ts";
import { ProcessId } from "../model/process-id.ts";
import { ServiceNames } from "../model/names.ts";
import type { ProcessRecord } from "../model/record.ts";
import type { EventTypeDecl, ProcessRegistrationInput } from "../model/registration.ts";
import type { SessionEntry } from "../model/session-entry.ts";
import type { CatalogEntry, ListFilter, ProcessPage, PruneResult, ScheduleResult, StartResult, SweepReport, UnscheduleResult } from "../model/wire.ts";
import { TERMINAL_EVENT_TYPES, type LashProcessesApi, type LashProcessRecoveryApi, type LashProcessWorkflowApi } from "./api.ts";
import { LashClientError, errorFromResponse, unreachable } from "./client-error.ts";
import type { EventsOptions, ProcessHandle, ProcessOutcome } from "./process-handle.ts";
import type { ProcessRef } from "./process-ref.ts";

export interface LashClientOptions {
  /** Restate's ingress, e.g. `http://127.0.0.1:8080`. */
  ingressUrl: string;
  /** Sent with every request (e.g. an auth header of a gateway in front of Restate). */
  headers?: Record<string, string>;
  /** Timeout of one short request (everything but waiting for a result). Default 30 s. */
  requestTimeoutMs?: number;
}

/** Options of `client.start(definition, args, options)`. */
export interface StartOptions {
  /**
   * The process id (it is the workflow key: starting the same id with the same
   * content again returns the existing process). Default: a fresh random UUID,
   * so every call starts a new process; pass your own id for idempotent starts.
   */
  id?: string;
  /** `provenance.ownerScope.sessionId`; default `"default"`. */
  sessionId?: string;
  /** Event types the body may emit besides the core ones. */
  eventTypes?: EventTypeDecl[];
  /** Runs recovery may start after an infrastructure failure (default 3). */
  maxAttempts?: number;
}

type Json = z.core.util.JSONType;

/** How long one `awaitTerminal` request may stay open before it is re-sent (it is idempotent). */
const ATTACH_WINDOW_MS = 60_000;
/** How long one `events` long poll waits for a new event before it is asked again. */
const FOLLOW_WAIT_MS = 20_000;

/**
 * The ingress options one `#call` builds (signal, empty-input serde) and hands to whichever
 * typed handler it calls. `Opts` is invariant in its input and output types, so no single
 * non-`any` instantiation fits every handler.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one options value serves handlers of every input/output type
type AnyCallOpts = clients.Opts<any, any>;

interface CallOpts {
  /** The input is empty: send no body and no content type. */
  empty?: boolean;
  /** No request timeout (waiting for a result, a sweep). */
  long?: boolean;
  signal?: AbortSignal;
}

/**
 * A typed client of lash-processes over Restate's ingress: start processes,
 * attach to their results, signal, cancel, read the registry and its events.
 * Every failure is a `LashClientError` with a stable `code`. Runs wherever
 * `fetch` does (Node, Bun, Deno, edge runtimes): import it from `lash-processes/client`.
 */
export class LashProcessClient {
  readonly ingressUrl: string;
  readonly #ingress: clients.Ingress;
  readonly #timeoutMs: number;
  readonly #processes: clients.IngressClient<LashProcessesApi>;

  constructor(opts: LashClientOptions) {
    this.ingressUrl = opts.ingressUrl.replace(/\/+$/, "");
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#ingress = clients.connect({ url: this.ingressUrl, ...(opts.headers ? { headers: opts.headers } : {}) });
    this.#processes = this.#ingress.serviceClient<LashProcessesApi>({ name: ServiceNames.processes });
  }

  /**
   * Registers and starts a process (idempotent per id: the same registration
   * again returns the existing process; different content is `registration_conflict`).
   *
   * Typed form: `start(definition, args, options?)` with a `defineTool` /
   * `defineProgram` result or a `toolRef` / `programRef`; `args` is checked
   * against the schema's input type at compile time (and by the server at run
   * time), and the handle's `result()` has the body's return type.
   */
  start(registration: ProcessRegistrationInput): Promise<ProcessHandle>;
  start<A, R>(definition: ProcessRef<A, R>, args: NoInfer<A>, options?: StartOptions): Promise<ProcessHandle<R>>;
  async start(target: ProcessRegistrationInput | ProcessRef, args?: unknown, options: StartOptions = {}): Promise<ProcessHandle<unknown>> {
    const registration = "kind" in target && !("input" in target) ? registrationOf(target, args, options) : (target as ProcessRegistrationInput);
    const id = checkId(registration.id, "registration.id");
    const started: StartResult = await this.#call("start", (o) => this.#processes.start({ registration: { ...registration, id } }, o));
    return this.#handle(started.id, started);
  }

  /** A handle on an existing process (nothing is checked until it is used); `T` types its result. */
  handle<T = unknown>(id: string): ProcessHandle<T> {
    return this.#handle<T>(checkId(id, "id"), undefined);
  }

  /** The registry row of a process; unknown id -> `not_found`. */
  async get(id: string): Promise<ProcessRecord> {
    const checked = checkId(id, "id");
    return this.#call("get", (o) => this.#processes.get({ id: checked }, o));
  }

  /** One page of processes in id order; pass `nextCursor` back as `cursor` for the next. */
  list(filter: ListFilter = {}): Promise<ProcessPage> {
    return this.#call("list", (o) => this.#processes.list(dropUndefined(filter), o));
  }

  /** The endpoint's catalog: its tools and programs with their arguments as JSON Schema. */
  async tools(): Promise<CatalogEntry[]> {
    return (await this.#call("tools", (o) => this.#processes.tools(o), { empty: true })).tools;
  }

  /** A page of a session's conversation (messages, tool calls and results, usage), oldest first. */
  async session(id: string, opts: { after?: number; limit?: number } = {}): Promise<SessionEntry[]> {
    return (await this.#call("session", (o) => this.#processes.session({ id, ...dropUndefined(opts) }, o))).entries;
  }

  /** The recovery service of one registry (`LashProcessRecovery/<registryName>`). */
  recovery(registryName = "default") {
    const object = this.#ingress.objectClient<LashProcessRecoveryApi>({ name: ServiceNames.recovery }, registryName);
    return {
      sweep: (opts: { limit?: number } = {}): Promise<SweepReport> => this.#call("recovery sweep", (o) => object.sweep(dropUndefined(opts), o), { long: true }),
      /** Retention: deletes finished processes older than `olderThanMs` with their events (or, with `dryRun`, lists them). */
      prune: (opts: { olderThanMs: number; dryRun?: boolean; limit?: number }): Promise<PruneResult> =>
        this.#call("recovery prune", (o) => object.prune({ ...dropUndefined(opts), olderThanMs: opts.olderThanMs }, o), { long: true }),
      schedule: (everyMs: number, opts: { retainForMs?: number } = {}): Promise<ScheduleResult> =>
        this.#call("recovery schedule", (o) => object.schedule({ ...dropUndefined(opts), everyMs }, o)),
      unschedule: (): Promise<UnscheduleResult> => this.#call("recovery unschedule", (o) => object.unschedule(o), { empty: true }),
    };
  }

  /** Builds the handle of one process over this client's ingress connection (Temporal's `_createWorkflowHandle`). */
  #handle<T>(id: string, started: StartResult | undefined): ProcessHandle<T> {
    const workflow = this.#ingress.workflowClient<LashProcessWorkflowApi>({ name: ServiceNames.workflow }, id);
    const call = this.#call.bind(this);
    const processes = this.#processes;
    const get = (): Promise<ProcessRecord> => this.get(id);
    return {
      id,
      started,
      async result(opts = {}) {
        const record = await get();
        if (record.outcome !== undefined) return record.outcome as ProcessOutcome<T>;
        for (;;) {
          const window = AbortSignal.timeout(ATTACH_WINDOW_MS);
          const signal = opts.signal ? AbortSignal.any([opts.signal, window]) : window;
          try {
            return (await call("awaitTerminal", (o) => workflow.awaitTerminal(o), { long: true, signal, empty: true })) as ProcessOutcome<T>;
          } catch (err) {
            // Our own window closed (not the caller's signal): attach again.
            if (window.aborted && !opts.signal?.aborted) continue;
            throw err;
          }
        }
      },
      cancel: (reason) => call("cancel", (o) => workflow.cancel(reason === undefined ? {} : { reason }, o)),
      signal: (name, payload) => call("signal", (o) => workflow.signal(payload === undefined ? { name } : { name, payload }, o)),
      status: get,
      complete: (output: ProcessAwaitOutput) => call("complete", (o) => workflow.complete({ output }, o)),
      async *events(opts: EventsOptions = {}) {
        let after = opts.after ?? 0;
        const limit = opts.pageSize ?? 100;
        let lastRound = false;
        for (;;) {
          opts.signal?.throwIfAborted();
          // Following: a long poll (the service answers as soon as an event is there).
          const waitMs = opts.follow && !lastRound ? FOLLOW_WAIT_MS : undefined;
          const window = waitMs ? AbortSignal.timeout(FOLLOW_WAIT_MS + 30_000) : undefined;
          const signal = opts.signal && window ? AbortSignal.any([opts.signal, window]) : (opts.signal ?? window);
          const page = await call("events", (o) => processes.events({ id, after, limit, ...(waitMs ? { waitMs } : {}) }, o), {
            ...(signal ? { signal } : {}),
            ...(waitMs ? { long: true } : {}),
          });
          for (const event of page.events) {
            yield event;
            after = event.sequence;
            if (opts.follow && TERMINAL_EVENT_TYPES.has(event.type)) return;
          }
          if (page.events.length < limit && (!opts.follow || lastRound)) return;
          // Nothing new although we waited: a terminal process (its terminal event before `after`)
          // answers at once, so look at the row; if it is terminal, read what is left once more.
          if (opts.follow && page.events.length === 0) lastRound = (await get()).outcome !== undefined;
        }
      },
    };
  }

  /**
   * Runs one ingress call with the options wrapped in `rpc.opts`, a timeout
   * (unless `long` or a caller's signal), and errors mapped to LashClientError.
   */
  async #call<T>(what: string, fn: (opts: AnyCallOpts) => PromiseLike<T>, opts: CallOpts = {}): Promise<T> {
    const signals = [opts.signal, opts.long ? undefined : AbortSignal.timeout(this.#timeoutMs)].filter((s) => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const rpcOpts: AnyCallOpts = clients.rpc.opts({
      ...(signal ? { signal } : {}),
      ...(opts.empty ? { input: clients.serde.empty } : {}),
    });
    try {
      return await fn(rpcOpts);
    } catch (err) {
      throw this.#mapError(what, err, opts.signal);
    }
  }

  #mapError(what: string, err: unknown, callerSignal?: AbortSignal): unknown {
    if (err instanceof LashClientError) return err;
    if (err instanceof clients.HttpCallError) return errorFromResponse(err.status, err.responseText, what, this.ingressUrl);
    if (callerSignal?.aborted) return callerSignal.reason;
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      return new LashClientError("unreachable", `${what}: no answer from Restate at ${this.ingressUrl} within ${this.#timeoutMs} ms`, { cause: err });
    }
    if (err instanceof TypeError) return unreachable(this.ingressUrl, err);
    return err;
  }
}

/** The registration `start(definition, args, options)` sends. */
function registrationOf(ref: ProcessRef, rawArgs: unknown, options: StartOptions): ProcessRegistrationInput {
  // The server parses args with the body's schema (a non-JSON value fails there, naming the field).
  const args = (rawArgs ?? {}) as Json;
  return {
    id: options.id ?? crypto.randomUUID(),
    input: ref.kind === "program" ? { type: "program", name: ref.name, args } : { type: "tool_call", call: { tool: ref.name, args } },
    ...(options.eventTypes ? { eventTypes: options.eventTypes } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    provenance: { ownerScope: { sessionId: options.sessionId ?? "default" }, hostProfileId: "", causedBy: { kind: "host", id: "lash-client" } },
  };
}

function checkId(id: unknown, field: string): string {
  const parsed = ProcessId.safeParse(id);
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues[0]?.message ?? "invalid";
  throw new LashClientError("invalid_input", `${field}: ${message}`, { field });
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
