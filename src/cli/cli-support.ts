/**
 * What every lashctl command shares: exit codes, the usage error, global flags,
 * a command's declaration, and how a command writes (stdout for results,
 * stderr for progress and errors).
 */
import type { ParseArgsConfig } from "node:util";

/** lashctl's exit codes (documented in `lashctl --help` and the README). */
export const ExitCode = {
  ok: 0,
  /** The process ended failed, cancelled or abandoned; or the request was refused (e.g. a conflict). */
  failed: 1,
  /** Bad command line, or input the server rejected as invalid. */
  usage: 2,
  /** No such process, or Restate / the lash services could not be reached. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad command line: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export const GLOBAL_OPTIONS = {
  ingress: { type: "string" },
  admin: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

export interface CliIo {
  /** Results (one JSON document per command with --json). */
  out: (text: string) => void;
  /** Progress, events during waits with --json, and errors. */
  err: (text: string) => void;
}

export interface CliContext {
  ingress: string;
  admin: string;
  json: boolean;
  env: NodeJS.ProcessEnv;
  io: CliIo;
  /** Fires on SIGINT/SIGTERM so long waits stop cleanly. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  /** `<id> <name> [json]`: `<x>` required, `[x]` optional. */
  args: string;
  summary: string;
  /** Lines describing the command's own flags. */
  details?: string[];
  options: OptionSpecs;
  run(ctx: CliContext, positionals: string[], values: OptionValues): Promise<ExitCode>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function intOption(values: OptionValues, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const min = opts.min ?? 0;
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || (opts.max !== undefined && n > opts.max)) {
    const range = opts.max === undefined ? `>= ${min}` : `${min}..${opts.max}`;
    throw new UsageError(`--${name} must be an integer ${range} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

export function jsonArgument(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message} (got ${JSON.stringify(raw)})`);
  }
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.io.out(JSON.stringify(value, null, 2));
}
