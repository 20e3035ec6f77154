#!/usr/bin/env node
/**
 * lashctl: the command line of lash-processes (`npx lashctl --help`).
 * Global flags, dispatch to one command, and the mapping of errors to exit codes.
 */
import { parseArgs } from "node:util";
import { LashClientError } from "../client/index.ts";
import { adminCommands } from "./admin-commands.ts";
import { agentCommands } from "./agent-commands.ts";
import { ExitCode, GLOBAL_OPTIONS, UsageError, type CliContext, type CliIo, type Command } from "./cli-support.ts";
import { devCommand } from "./dev-command.ts";
import { identityCommand } from "./identity-command.ts";
import { mcpCommand } from "./mcp-command.ts";
import { processCommands } from "./process-commands.ts";

const COMMANDS: Command[] = [devCommand, ...processCommands, ...adminCommands, identityCommand, ...agentCommands, mcpCommand];

const DEFAULT_INGRESS = "http://127.0.0.1:8080";
const DEFAULT_ADMIN = "http://127.0.0.1:9070";

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
    "",
    "Exit codes:",
    "  0    ok",
    "  1    the process failed, was cancelled or abandoned (start --wait, await),",
    "       or the request was refused (e.g. registration_conflict)",
    "  2    usage: a bad flag or argument, or input the server rejected as invalid",
    "  3    not found, or Restate or the lash services unreachable / not registered",
    "  130  interrupted (Ctrl-C) while waiting",
  ].join("\n");
}

function commandHelp(c: Command): string {
  return [`Usage: lashctl ${c.name} ${c.args}${Object.keys(c.options).length ? " [flags]" : ""}`.trimEnd(), "", c.summary, ...(c.details?.length ? ["", ...c.details.map((d) => `  ${d}`)] : [])].join("\n");
}

/** Splits `[global flags] <command> [rest]`; global flags may also follow the command. */
function findCommand(argv: string[]): { command: Command | undefined; rest: string[]; help: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--ingress" || token === "--admin") {
      i++;
      continue;
    }
    if (/^--(ingress|admin)=/.test(token) || token === "--json") continue;
    if (token === "--help" || token === "-h") continue;
    if (token.startsWith("-")) throw new UsageError(`unknown option '${token}' before the command`);
    const command = COMMANDS.find((c) => c.name === token);
    if (command === undefined) throw new UsageError(`unknown command '${token}'`);
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
      ingress: (values.ingress as string | undefined) ?? env.RESTATE_INGRESS_URL ?? DEFAULT_INGRESS,
      admin: (values.admin as string | undefined) ?? env.RESTATE_ADMIN_URL ?? DEFAULT_ADMIN,
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
    io.err(`lashctl: ${err.message}`);
    io.err(`Run 'lashctl ${err.command ?? command ?? ""} --help'.`.replace("  ", " "));
    return ExitCode.usage;
  }
  if (err instanceof LashClientError) {
    if (json) io.err(JSON.stringify({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } }));
    else io.err(`lashctl: ${err.code}: ${err.message}`);
    if (err.code === "not_found" || err.code === "unreachable" || err.code === "not_deployed") return ExitCode.unreachable;
    if (err.code === "invalid_input") return ExitCode.usage;
    return ExitCode.failed;
  }
  io.err(`lashctl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return ExitCode.failed;
}

async function main(): Promise<void> {
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

if (import.meta.main) await main();
