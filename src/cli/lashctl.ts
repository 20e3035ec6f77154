/**
 * lashctl: the command line of lash-processes (`npx lashctl --help`).
 * Global flags, dispatch to one command, and the mapping of errors to exit codes.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { LashClientError } from "../client/index.ts";
import { DEFAULT_RESTATE_URLS } from "../model/index.ts";
import { adminCommands } from "./admin-commands.ts";
import { pruneCommand } from "./prune-command.ts";
import { agentCommands } from "./agent-commands.ts";
import { ExitCode, GLOBAL_OPTIONS, UsageError, type CliContext, type CliIo, type Command } from "./cli-support.ts";
import { consoleCommand } from "./console-command.ts";
import { devCommand } from "./dev-command.ts";
import { identityCommand } from "./identity-command.ts";
import { mcpCommand } from "./mcp-command.ts";
import { processCommands } from "./process-commands.ts";

const COMMANDS: Command[] = [devCommand, ...processCommands, ...adminCommands, pruneCommand, identityCommand, consoleCommand, ...agentCommands, mcpCommand];

const { ingress: DEFAULT_INGRESS, admin: DEFAULT_ADMIN } = DEFAULT_RESTATE_URLS;

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args}`.length));
  return [
    "lashctl: durable background processes on Restate",
    "",
    "Usage: lashctl [--ingress URL] [--admin URL] [--json] <command> [arguments] [flags]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    "",
    "Global flags:",
    `  --ingress URL   Restate ingress (env RESTATE_INGRESS_URL, default ${DEFAULT_INGRESS})`,
    `  --admin URL     Restate admin API (env RESTATE_ADMIN_URL, default ${DEFAULT_ADMIN})`,
    "  --json          one JSON document on stdout (events while waiting go to stderr)",
    "  -h, --help      this help; lashctl <command> --help shows a command's flags",
    "  --version       the version of lash-processes",
    "",
    "Exit codes:",
    "  0    ok",
    "  1    the process failed, was cancelled or abandoned (start --wait, await),",
    "       or the request was refused (e.g. registration_conflict)",
    "  2    usage: a bad flag or argument, or input the server rejected as invalid",
    "  3    not found, or Restate or the lash services unreachable / not registered,",
    "       or the URL answers but is not Restate's ingress (e.g. the admin API, a proxy)",
    "  130  interrupted (Ctrl-C) while waiting",
  ].join("\n");
}

function commandHelp(c: Command): string {
  return [
    `Usage: lashctl ${c.name} ${c.args}${Object.keys(c.options).length ? " [flags]" : ""}`.trimEnd(),
    "",
    c.summary,
    ...(c.details?.length ? ["", ...c.details.map((d) => `  ${d}`)] : []),
  ].join("\n");
}

/** The version of this package (package.json sits two levels up from src/cli and dist/cli). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/** The command closest to a mistyped name (edit distance at most 2, or a prefix of it). */
export function nearestCommand(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const c of COMMANDS) {
    const distance = c.name.startsWith(name) && name.length >= 2 ? 1 : editDistance(name, c.name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name: c.name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** A global URL flag must be an absolute http(s) URL: anything else is a usage error, not "unreachable". */
function checkUrl(flag: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new UsageError(`${flag} must be an http(s) URL such as http://127.0.0.1:8080 (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** Splits `[global flags] <command> [rest]`; global flags may also follow the command. */
function findCommand(argv: string[]): { command: Command | undefined; rest: string[]; help: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--ingress" || token === "--admin") {
      i++;
      continue;
    }
    if (/^--(ingress|admin)=/.test(token) || token === "--json" || token === "--version") continue;
    if (token === "--help" || token === "-h") continue;
    if (token.startsWith("-")) throw new UsageError(`unknown option '${token}' before the command`);
    const command = COMMANDS.find((c) => c.name === token);
    if (command === undefined) {
      const near = nearestCommand(token);
      throw new UsageError(`unknown command '${token}'${near ? ` (did you mean '${near}'?)` : ""}`);
    }
    return { command, rest: [...argv.slice(0, i), ...argv.slice(i + 1)], help: false };
  }
  return { command: undefined, rest: argv, help: argv.includes("--help") || argv.includes("-h") };
}

function checkPositionals(c: Command, positionals: string[]): void {
  const specs = c.args.split(" ").filter((s) => s.length > 0);
  const required = specs.filter((s) => s.startsWith("<"));
  if (positionals.length < required.length) throw new UsageError(`missing ${required[positionals.length]}`, c.name);
  if (positionals.length > specs.length) throw new UsageError(`unexpected argument '${positionals[specs.length]}'`, c.name);
}

export async function runCli(argv: string[], io: CliIo, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<number> {
  let commandName: string | undefined;
  let json = argv.includes("--json");
  try {
    const { command, rest, help } = findCommand(argv);
    if (command === undefined) {
      if (argv.includes("--version")) {
        io.out(json ? JSON.stringify({ version: version() }) : version());
        return ExitCode.ok;
      }
      if (help) {
        io.out(helpText());
        return ExitCode.ok;
      }
      throw new UsageError("missing command");
    }
    commandName = command.name;
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message, command.name);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(commandHelp(command));
      return ExitCode.ok;
    }
    checkPositionals(command, positionals);
    json = values.json === true;
    const ctx: CliContext = {
      ingress: checkUrl(values.ingress === undefined ? "RESTATE_INGRESS_URL" : "--ingress", values.ingress ?? env.RESTATE_INGRESS_URL ?? DEFAULT_INGRESS),
      admin: checkUrl(values.admin === undefined ? "RESTATE_ADMIN_URL" : "--admin", values.admin ?? env.RESTATE_ADMIN_URL ?? DEFAULT_ADMIN),
      json,
      env,
      io,
      signal,
    };
    return await command.run(ctx, positionals, values);
  } catch (err) {
    return reportError(err, io, json, commandName, signal);
  }
}

function reportError(err: unknown, io: CliIo, json: boolean, command: string | undefined, signal: AbortSignal): number {
  if (signal.aborted) {
    io.err("lashctl: interrupted");
    return 130;
  }
  if (err instanceof UsageError) {
    if (json) io.err(JSON.stringify({ error: { code: "usage", message: err.message } }));
    else {
      io.err(`lashctl: ${err.message}`);
      io.err(`Run 'lashctl ${err.command ?? command ?? ""} --help'.`.replace("  ", " "));
    }
    return ExitCode.usage;
  }
  if (err instanceof LashClientError) {
    if (json) io.err(JSON.stringify({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } }));
    else io.err(`lashctl: ${err.code}: ${err.message}`);
    if (err.code === "not_restate" && !json) io.err("lashctl: hint: is --ingress (RESTATE_INGRESS_URL) the ingress (:8080), not the admin API (:9070)?");
    if (err.code === "not_found" || err.code === "unreachable" || err.code === "not_deployed" || err.code === "not_restate") return ExitCode.unreachable;
    if (err.code === "invalid_input") return ExitCode.usage;
    return ExitCode.failed;
  }
  // Anything else (e.g. `lashctl dev` could not start a child) is said in a sentence, not a stack trace.
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.err(JSON.stringify({ error: { code: "failed", message } }));
  else io.err(`lashctl: ${message}`);
  return ExitCode.failed;
}

/** Runs lashctl in this process (the `bin` entry, `src/cli/bin.ts`, calls it). */
export async function main(): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const io: CliIo = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };
  const code = await runCli(process.argv.slice(2), io, process.env, controller.signal);
  process.exitCode = code;
  // Let stdout drain, then leave even if a timer (a poll) is still pending.
  process.stdout.write("", () => process.exit(code));
}
