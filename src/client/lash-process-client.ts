import * as clients from "@restatedev/restate-sdk-clients";
import { ProcessId, ServiceNames, type ProcessRecord, type ProcessRegistrationInput } from "../model/index.ts";
import type {
  CatalogEntry,
  LashProcessesApi,
  LashProcessRecoveryApi,
  LashProcessWorkflowApi,
  ListFilter,
  ProcessPage,
  ScheduleResult,
  StartResult,
  SweepReport,
} from "./api.ts";
import { LashClientError, errorFromResponse, unreachable } from "./client-error.ts";
import { ProcessHandle } from "./process-handle.ts";

export interface LashClientOptions {
  /** Restate's ingress, e.g. `http://127.0.0.1:8080`. */
  ingressUrl: string;
  /** Sent with every request (e.g. an auth header of a gateway in front of Restate). */
  headers?: Record<string, string>;
  /** Timeout of one short request (everything but waiting for a result). Default 30 s. */
  requestTimeoutMs?: number;
  /** How often `events({ follow: true })` polls for new events. Default 250 ms. */
  pollIntervalMs?: number;
}

/** Options of one call, as the SDK's ingress client takes them (wrapped in `rpc.opts`). */
export interface CallOptions {
  signal?: AbortSignal;
  /** The input is empty: send no body and no content type. */
  empty?: boolean;
}

/**
 * A typed client of lash-processes over Restate's ingress: start processes,
 * attach to their results, signal, cancel, read the registry and its events.
 * Every failure is a `LashClientError` with a stable `code`.
 */
export class LashProcessClient {
  readonly ingressUrl: string;
  readonly pollIntervalMs: number;
  readonly #ingress: clients.Ingress;
  readonly #timeoutMs: number;
  readonly #processes: clients.IngressClient<LashProcessesApi>;

  constructor(opts: LashClientOptions) {
    this.ingressUrl = opts.ingressUrl.replace(/\/+$/, "");
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#ingress = clients.connect({ url: this.ingressUrl, ...(opts.headers ? { headers: opts.headers } : {}) });
    this.#processes = this.#ingress.serviceClient<LashProcessesApi>({ name: ServiceNames.processes });
  }

  /**
   * Registers and starts a process (idempotent per id: the same registration
   * again returns the existing process; different content is `registration_conflict`).
   */
  async start(registration: ProcessRegistrationInput): Promise<ProcessHandle> {
    const id = checkId(registration.id, "registration.id");
    const started: StartResult = await this.call("start", (o) => this.#processes.start({ registration: { ...registration, id } }, o));
    return new ProcessHandle(this, started.id, started);
  }

  /** A handle on an existing process (nothing is checked until it is used). */
  handle(id: string): ProcessHandle {
    return new ProcessHandle(this, checkId(id, "id"));
  }

  /** The registry row of a process; unknown id -> `not_found`. */
  async get(id: string): Promise<ProcessRecord> {
    const checked = checkId(id, "id");
    return this.call("get", (o) => this.#processes.get({ id: checked }, o));
  }

  /** One page of processes in id order; pass `nextCursor` back as `cursor` for the next. */
  list(filter: ListFilter = {}): Promise<ProcessPage> {
    return this.call("list", (o) => this.#processes.list(dropUndefined(filter), o));
  }

  /** The endpoint's catalog: its tools and programs with their arguments as JSON Schema. */
  async tools(): Promise<CatalogEntry[]> {
    return (await this.call("tools", (o) => this.#processes.tools(o), { empty: true })).tools;
  }

  /** The recovery service of one registry (`LashProcessRecovery/<registryName>`). */
  recovery(registryName = "default") {
    const object = this.#ingress.objectClient<LashProcessRecoveryApi>({ name: ServiceNames.recovery }, registryName);
    return {
      sweep: (opts: { limit?: number } = {}): Promise<SweepReport> =>
        this.call("recovery sweep", (o) => object.sweep(dropUndefined(opts), o), { long: true }),
      schedule: (everyMs: number): Promise<ScheduleResult> => this.call("recovery schedule", (o) => object.schedule({ everyMs }, o)),
      unschedule: (): Promise<{ scheduled: boolean }> => this.call("recovery unschedule", (o) => object.unschedule(o), { empty: true }),
    };
  }

  /** @internal The typed client of `LashProcessWorkflow/<id>`. */
  workflow(id: string): clients.IngressClient<LashProcessWorkflowApi> {
    return this.#ingress.workflowClient<LashProcessWorkflowApi>({ name: ServiceNames.workflow }, id) as unknown as clients.IngressClient<LashProcessWorkflowApi>;
  }

  /** @internal The typed `LashProcesses` client. */
  get processes(): clients.IngressClient<LashProcessesApi> {
    return this.#processes;
  }

  /**
   * @internal Runs one ingress call with the options wrapped in `rpc.opts`, a
   * timeout (unless `long` or a caller's signal), and errors mapped to LashClientError.
   */
  async call<T>(
    what: string,
    fn: (opts: clients.Opts<any, any>) => PromiseLike<T>,
    opts: { empty?: boolean; long?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> {
    const signals = [opts.signal, opts.long ? undefined : AbortSignal.timeout(this.#timeoutMs)].filter((s) => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const rpcOpts = clients.rpc.opts<any, any>({
      ...(signal ? { signal } : {}),
      ...(opts.empty ? { input: clients.serde.empty } : {}),
    });
    try {
      return await fn(rpcOpts);
    } catch (err) {
      throw this.mapError(what, err, opts.signal);
    }
  }

  /** @internal */
  mapError(what: string, err: unknown, callerSignal?: AbortSignal): unknown {
    if (err instanceof LashClientError) return err;
    if (err instanceof clients.HttpCallError) return errorFromResponse(err.status, err.responseText, what);
    if (callerSignal?.aborted) return callerSignal.reason;
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      return new LashClientError("unreachable", `${what}: no answer from Restate at ${this.ingressUrl} within ${this.#timeoutMs} ms`, { cause: err });
    }
    if (err instanceof TypeError) return unreachable(this.ingressUrl, err);
    return err;
  }
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
