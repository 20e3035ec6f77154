/**
 * Evaluates a value against a caller-supplied JSON Schema OFF the event loop, with a
 * time limit. For schemas that run regular expressions (`runsRegexes`): the validator
 * runs them in V8's backtracking engine, where `^\w*\w*\w*!$` takes ~8 s on 3,000
 * characters (polynomial, so no registration-time analysis refuses it) and no V8 flag
 * is available to an embedded library. Registration still refuses the exponential
 * patterns it can recognise (`payload-schema.ts`), with a clearer error.
 *
 * Decisions:
 * - ONE worker thread per process, started on first use and unref'd while idle (it
 *   never keeps the process alive). Schemas without regular expressions never come
 *   here: their synchronous path is unchanged.
 * - One check in flight at a time; the rest wait in a FIFO queue on this side. So the
 *   time limit (`Limits.schemaCheckTimeMs`) measures the check's own evaluation, not
 *   its wait, and a worker that dies or is terminated can only have been working on
 *   that one check: it answers `timeout` (or `unevaluable`), and every queued check
 *   is kept and runs on a fresh worker. No check is lost or answered for another.
 * - A check that waited longer than `Limits.schemaCheckWaitMs` for its turn (a flood
 *   of slow checks ahead of it) answers `busy` instead of running.
 * - A worker that cannot start (its script missing) rejects the waiting checks with a
 *   plain Error: a deployment fault, retried by Restate and visible in its logs, rather
 *   than an answer blamed on the caller's schema.
 */
import { Worker } from "node:worker_threads";
import { Limits } from "../model/index.ts";
import type { SchemaVerdict } from "./schema-eval.ts";

/** A message to the worker. `key` names the schema for the worker's validator cache (none: not cached). */
export interface CheckRequest {
  id: number;
  key: string | undefined;
  schema: object;
  value: unknown;
}

/** A message from the worker: "ready" once it has loaded, then one verdict per request. */
export type CheckReply = "ready" | { id: number; verdict: SchemaVerdict };

interface Waiting {
  request: CheckRequest;
  queuedAtMs: number;
  resolve: (verdict: SchemaVerdict) => void;
  reject: (err: Error) => void;
}

/** The worker's script: the `.ts` source under Node's type stripping, the compiled `.js` in the published package. */
const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./schema-check-worker.ts" : "./schema-check-worker.js", import.meta.url);

/** A worker that has not said "ready" by then is treated as one that could not start. */
const START_TIMEOUT_MS = 30_000;

class SchemaChecker {
  #worker: Worker | undefined;
  #ready = false;
  #startTimer: NodeJS.Timeout | undefined;
  #queue: Waiting[] = [];
  #inFlight: { waiting: Waiting; timer: NodeJS.Timeout } | undefined;
  #nextId = 1;

  check(key: string | undefined, schema: object, value: unknown): Promise<SchemaVerdict> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { id: this.#nextId++, key, schema, value }, queuedAtMs: performance.now(), resolve, reject });
      this.#pump();
    });
  }

  /** Sends the next queued check when the worker is ready and idle; starts a worker when there is none. */
  #pump(): void {
    if (this.#inFlight !== undefined) return;
    while (this.#queue.length > 0) {
      const worker = this.#worker ?? this.#start();
      if (!this.#ready) return; // "ready" pumps again
      const waiting = this.#queue.shift()!;
      const waitedMs = performance.now() - waiting.queuedAtMs;
      if (waitedMs > Limits.schemaCheckWaitMs) {
        waiting.resolve({ kind: "busy", waitedMs: Math.round(waitedMs) });
        continue;
      }
      try {
        worker.postMessage(waiting.request);
      } catch (err) {
        // The value or schema cannot be cloned (not JSON data): it cannot be evaluated either.
        waiting.resolve({ kind: "unevaluable", reason: err instanceof Error ? err.message : String(err) });
        continue;
      }
      const timer = setTimeout(() => this.#timedOut(worker), Limits.schemaCheckTimeMs);
      this.#inFlight = { waiting, timer };
      worker.ref();
      return;
    }
    this.#worker?.unref();
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 256 } });
    this.#worker = worker;
    this.#ready = false;
    this.#startTimer = setTimeout(() => this.#failed(worker, new Error(`did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    worker.on("message", (reply: CheckReply) => this.#reply(worker, reply));
    worker.on("error", (err: Error) => this.#failed(worker, err));
    worker.on("exit", (code) => this.#failed(worker, new Error(`exited with code ${code}`)));
    return worker;
  }

  #reply(worker: Worker, reply: CheckReply): void {
    if (worker !== this.#worker) return;
    if (reply === "ready") {
      clearTimeout(this.#startTimer);
      this.#ready = true;
    } else if (reply.id === this.#inFlight?.waiting.request.id) {
      clearTimeout(this.#inFlight.timer);
      const { resolve } = this.#inFlight.waiting;
      this.#inFlight = undefined;
      resolve(reply.verdict);
    }
    this.#pump();
  }

  /** The check in flight ran past the limit: answer it, end the worker (mid-match), go on with a fresh one. */
  #timedOut(worker: Worker): void {
    if (worker !== this.#worker || this.#inFlight === undefined) return;
    const { resolve } = this.#inFlight.waiting;
    this.#discard();
    void worker.terminate();
    resolve({ kind: "timeout", limitMs: Limits.schemaCheckTimeMs });
    this.#pump();
  }

  /** The worker died (error, exit, out of memory) or never started. */
  #failed(worker: Worker, err: Error): void {
    if (worker !== this.#worker) return; // an old worker's exit after its replacement started
    const inFlight = this.#inFlight;
    const started = this.#ready;
    this.#discard();
    void worker.terminate();
    if (inFlight !== undefined) {
      inFlight.waiting.resolve({ kind: "unevaluable", reason: `the schema checker stopped while evaluating it (${err.message})` });
    }
    if (started) {
      this.#pump();
      return;
    }
    const waiting = this.#queue.splice(0);
    for (const w of waiting) w.reject(new Error(`the schema checker's worker thread could not start (${WORKER_URL.href}): ${err.message}`, { cause: err }));
  }

  #discard(): void {
    if (this.#inFlight !== undefined) clearTimeout(this.#inFlight.timer);
    clearTimeout(this.#startTimer);
    this.#inFlight = undefined;
    this.#worker = undefined;
    this.#ready = false;
  }
}

const checker = new SchemaChecker();

/**
 * Evaluates `value` against `schema` in the checker's worker thread; `key` names the
 * schema for the worker's validator cache (the same key must always mean the same
 * schema; `undefined` for a schema used once). Resolves with the verdict, including
 * `timeout` and `busy`; rejects only when the worker cannot start.
 */
export function checkOffLoop(key: string | undefined, schema: object, value: unknown): Promise<SchemaVerdict> {
  return checker.check(key, schema, value);
}
