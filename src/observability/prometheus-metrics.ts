import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ProcessRegistry } from "../registry/port.ts";

/** Statuses the `lash_processes` gauge reports (the live ones; terminal ones only grow). */
const LIVE_STATUSES = ["pending", "running", "waiting"] as const;
/** Rows counted per status at a scrape, at most: beyond it the gauge shows this cap. */
export const GAUGE_COUNT_CAP = 10_000;

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The endpoint's Prometheus metrics (all named `lash_*`), in their own prom-client
 * registry, plus Node's default process metrics as `lash_node_*`.
 * Counters count what THIS endpoint did; the `lash_processes` gauge is read from the
 * registry at scrape time, so it is the same whichever endpoint is scraped.
 */
export class LashMetrics {
  readonly registry = new Registry();
  readonly started: Counter<"target" | "kind">;
  readonly terminal: Counter<"target" | "outcome">;
  readonly stepDuration: Histogram<"target" | "result">;
  readonly registryCallDuration: Histogram<"method" | "result">;
  readonly sweepResults: Counter<"result">;
  readonly runAttempts: Counter<"target">;
  #source: ProcessRegistry | undefined;

  constructor() {
    const registers = [this.registry];
    this.started = new Counter({
      name: "lash_processes_started_total",
      help: "Processes registered by this endpoint, by tool or program (target) and input kind.",
      labelNames: ["target", "kind"],
      registers,
    });
    this.terminal = new Counter({
      name: "lash_processes_terminal_total",
      help: "Terminal outcomes written by this endpoint, by tool or program and outcome (success, failure, cancelled, abandoned).",
      labelNames: ["target", "outcome"],
      registers,
    });
    this.runAttempts = new Counter({
      name: "lash_run_attempts_total",
      help: "Executions of LashProcessWorkflow/run on this endpoint (first runs, retries and resumptions after suspension).",
      labelNames: ["target"],
      registers,
    });
    this.stepDuration = new Histogram({
      name: "lash_step_duration_seconds",
      help: "Duration of process body steps (ctx.step) that really executed (replays are not counted).",
      labelNames: ["target", "result"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.registryCallDuration = new Histogram({
      name: "lash_registry_call_duration_seconds",
      help: "Duration of process registry calls, by method and result (ok or error).",
      labelNames: ["method", "result"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.sweepResults = new Counter({
      name: "lash_recovery_sweep_processes_total",
      help: "Processes handled by recovery sweeps on this endpoint, by result.",
      labelNames: ["result"],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: "lash_node_" });
    const readSource = () => this.#source;
    new Gauge({
      name: "lash_processes",
      help: `Live processes in the registry by status, read at scrape time (capped at ${GAUGE_COUNT_CAP} per status).`,
      labelNames: ["status"],
      registers,
      async collect() {
        const source = readSource();
        if (source === undefined) return;
        for (const status of LIVE_STATUSES) this.set({ status }, await countStatus(source, status));
      },
    });
  }

  /** The registry the `lash_processes` gauge reads (the undecorated one: scrapes are not timed). */
  readFrom(registry: ProcessRegistry): void {
    this.#source = registry;
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

async function countStatus(registry: ProcessRegistry, status: (typeof LIVE_STATUSES)[number]): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await registry.list({ status, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    count += page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== undefined && count < GAUGE_COUNT_CAP);
  return Math.min(count, GAUGE_COUNT_CAP);
}
