/** lashctl commands on processes: start, list, get, events, signal, cancel, await. */
import { randomBytes } from "node:crypto";
import { LashProcessClient, type ProcessHandle } from "../client/index.ts";
import { Limits, ProcessStatusSchema, type ProcessAwaitOutput, type ProcessInput, type ProcessRegistrationInput } from "../model/index.ts";
import { ExitCode, UsageError, intOption, jsonArgument, printJson, stringOption, type CliContext, type Command } from "./cli-support.ts";
import { describeOutcome, eventLine, recordDetails, recordsTable } from "./output.ts";

const clientOf = (ctx: CliContext) => new LashProcessClient({ ingressUrl: ctx.ingress });

/** `program:NAME` is a program; `tool:NAME` or a bare name (e.g. `std.echo`) is a tool call. */
export function inputOf(target: string, args: unknown): ProcessInput {
  if (target.startsWith("program:")) return { type: "program", name: target.slice("program:".length), args: args as never };
  const tool = target.startsWith("tool:") ? target.slice("tool:".length) : target;
  return { type: "tool_call", call: { tool, args: args as never } };
}

/** `lashctl-<base36 time>-<6 hex>`: sortable by start time, unique enough for a shell. */
export const generatedId = (): string => `lashctl-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

/**
 * Prints events as they arrive (stderr with --json, so stdout stays one JSON
 * document), then the outcome; the exit code says whether it succeeded.
 */
export async function follow(ctx: CliContext, handle: ProcessHandle): Promise<ExitCode> {
  const progress = ctx.json ? ctx.io.err : ctx.io.out;
  for await (const event of handle.events({ follow: true, signal: ctx.signal })) progress(eventLine(event));
  const outcome: ProcessAwaitOutput = await handle.result({ signal: ctx.signal });
  if (ctx.json) printJson(ctx, outcome);
  else ctx.io.out(describeOutcome(outcome));
  return outcome.type === "success" ? ExitCode.ok : ExitCode.failed;
}

const start: Command = {
  name: "start",
  args: "<tool|program:name>",
  summary: "start a process: a tool call (std.echo, tool:x) or a program (program:name)",
  details: [
    "--args JSON         arguments of the tool or program (default {})",
    "--id ID             process id (default: a generated lashctl-… id); the same id and",
    "                    registration again is a no-op, other content under it a conflict",
    "--session ID        owner session id (default: cli)",
    "--event-type NAME   declare an event type the body may emit (repeatable)",
    "--max-attempts N    runs recovery may start (default 3)",
    "--timeout-ms N      deadline for the whole process, children included (default none)",
    "--wait              print events as they arrive and wait for the outcome",
  ],
  options: {
    args: { type: "string" },
    id: { type: "string" },
    session: { type: "string" },
    "event-type": { type: "string", multiple: true },
    "max-attempts": { type: "string" },
    "timeout-ms": { type: "string" },
    wait: { type: "boolean" },
  },
  async run(ctx, [target], values) {
    const args = jsonArgument(stringOption(values, "args") ?? "{}", "--args");
    const maxAttempts = intOption(values, "max-attempts", { min: 1, max: 100 });
    const timeoutMs = intOption(values, "timeout-ms", { min: 1, max: Limits.timeoutMaxMs });
    const eventTypes = ((values["event-type"] as string[] | undefined) ?? []).map((name) => ({ name }));
    const registration: ProcessRegistrationInput = {
      id: stringOption(values, "id") ?? generatedId(),
      input: inputOf(target!, args),
      eventTypes,
      provenance: { ownerScope: { sessionId: stringOption(values, "session") ?? "cli" }, hostProfileId: "", causedBy: { kind: "host", id: "lashctl" } },
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
    const handle = await clientOf(ctx).start(registration);
    const started = handle.started!;
    if (ctx.json && !values.wait) printJson(ctx, started);
    else (ctx.json ? ctx.io.err : ctx.io.out)(`started ${started.id} (${started.status}${started.invocationId ? `, ${started.invocationId}` : ""})`);
    return values.wait ? follow(ctx, handle) : ExitCode.ok;
  },
};

const list: Command = {
  name: "list",
  args: "",
  summary: "list processes (one page, in id order)",
  details: [
    `--status S          one of ${ProcessStatusSchema.options.join(", ")}`,
    "--session ID        only processes owned by this session",
    "--limit N           page size, 1..1000 (default 100)",
    "--cursor C          the next-cursor printed by the previous page",
  ],
  options: { status: { type: "string" }, session: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" } },
  async run(ctx, _positionals, values) {
    const status = stringOption(values, "status");
    if (status !== undefined && !ProcessStatusSchema.safeParse(status).success) {
      throw new UsageError(`--status must be one of ${ProcessStatusSchema.options.join(", ")} (got ${JSON.stringify(status)})`);
    }
    const page = await clientOf(ctx).list({
      status: status as never,
      sessionId: stringOption(values, "session"),
      limit: intOption(values, "limit", { min: 1, max: 1000 }),
      cursor: stringOption(values, "cursor"),
    });
    if (ctx.json) printJson(ctx, page);
    else {
      ctx.io.out(page.items.length === 0 ? "no processes" : recordsTable(page.items));
      if (page.nextCursor !== undefined) ctx.io.out(`more: lashctl list --cursor ${page.nextCursor}`);
    }
    return ExitCode.ok;
  },
};

const get: Command = {
  name: "get",
  args: "<id>",
  summary: "show one process: status, input, attempts, outcome",
  options: {},
  async run(ctx, [id]) {
    const record = await clientOf(ctx).get(id!);
    if (ctx.json) printJson(ctx, record);
    else ctx.io.out(recordDetails(record));
    return ExitCode.ok;
  },
};

const events: Command = {
  name: "events",
  args: "<id>",
  summary: "print a process's event log (--json: one JSON event per line)",
  details: ["--after N           only events after sequence N", "--follow            keep printing new events until the terminal one"],
  options: { after: { type: "string" }, follow: { type: "boolean" } },
  async run(ctx, [id], values) {
    const client = clientOf(ctx);
    const handle = client.handle(id!);
    await handle.status(); // an unknown id is "not found" (exit 3), not an empty log
    const after = intOption(values, "after") ?? 0;
    for await (const event of handle.events({ after, follow: values.follow === true, signal: ctx.signal })) {
      ctx.io.out(ctx.json ? JSON.stringify(event) : eventLine(event));
    }
    return ExitCode.ok;
  },
};

const signal: Command = {
  name: "signal",
  args: "<id> <name> [json]",
  summary: "send a signal (buffered until the process waits for it)",
  options: {},
  async run(ctx, [id, name, payload]) {
    const handle = clientOf(ctx).handle(id!);
    const sent = await handle.signal(name!, payload === undefined ? undefined : jsonArgument(payload, "the signal payload"));
    if (ctx.json) printJson(ctx, sent);
    else ctx.io.out(`signal ${name} sent to ${id} (event #${sent.sequence})`);
    return ExitCode.ok;
  },
};

const cancel: Command = {
  name: "cancel",
  args: "<id>",
  summary: "cancel a process (a terminal one is left as it is)",
  details: ["--reason TEXT       recorded in the cancelled outcome"],
  options: { reason: { type: "string" } },
  async run(ctx, [id], values) {
    const client = clientOf(ctx);
    await client.get(id!); // cancel of an unknown id would be accepted for a run that never comes
    const result = await client.handle(id!).cancel(stringOption(values, "reason"));
    if (ctx.json) printJson(ctx, result);
    else ctx.io.out(result.alreadyTerminal ? `${id} is already terminal; nothing to cancel` : `cancel requested for ${id}`);
    return ExitCode.ok;
  },
};

const awaitCommand: Command = {
  name: "await",
  args: "<id>",
  summary: "print events as they arrive and wait for the outcome (exit 1 unless it succeeded)",
  options: {},
  async run(ctx, [id]) {
    const handle = clientOf(ctx).handle(id!);
    await handle.status();
    return follow(ctx, handle);
  },
};

export const processCommands: Command[] = [start, list, get, events, signal, cancel, awaitCommand];
