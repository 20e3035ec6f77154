import type { LoggerTransport } from "@restatedev/restate-sdk";
import { ServiceNames } from "../model/index.ts";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** `LASH_LOG_FORMAT`: `text` (the default, human lines) or `json` (one object a line). */
export type LogFormat = "text" | "json";

export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON log line: `level`, `time` (ISO 8601), `message`, then the fields (e.g. `processId`). */
export function jsonLine(level: LogLevel, message: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ level, time: new Date().toISOString(), message, ...fields });
}

/** The endpoint's own log lines, in the configured format. */
export function createLog(format: LogFormat, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Log {
  const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => write(format === "json" ? jsonLine(level, message, fields) : message);
  return { info: at("info"), warn: at("warn"), error: at("error") };
}

function render(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * The Restate SDK's logs (its own and `ctx.log` of process bodies) as JSON lines.
 * A log inside `LashProcessWorkflow/<id>` carries `processId`; every one inside an
 * invocation carries `invocationId` and `target`. Lines logged while replaying are
 * dropped (they were written by the attempt that ran them). `RESTATE_LOGGING` sets
 * the least level written (default `info`).
 */
export function restateJsonLogger(minLevel: string | undefined, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): LoggerTransport {
  const min = RANK[(minLevel ?? "info").toLowerCase() as LogLevel] ?? RANK.info;
  return (meta, message, ...rest) => {
    const level = meta.level as LogLevel;
    if (meta.replaying || (RANK[level] ?? RANK.info) < min) return;
    const args: unknown[] = rest;
    const text = [message, ...args].map(render).join(" ");
    const context = meta.context;
    const fields: Record<string, unknown> = { source: meta.source.toLowerCase() };
    if (context !== undefined) {
      if (context.serviceName === ServiceNames.workflow && context.key) fields.processId = context.key;
      fields.invocationId = context.invocationId;
      fields.target = context.invocationTarget;
    }
    write(jsonLine(level, text, fields));
  };
}
