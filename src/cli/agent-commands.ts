/** lashctl commands for agent integration: the catalog (`tools`) and a session's conversation (`session`). */
import { LashProcessClient, type SessionEntry } from "../client/index.ts";
import type { ProcessRegistrationInput } from "../model/index.ts";
import { ExitCode, intOption, jsonArgument, printJson, stringOption, type CliContext, type Command } from "./cli-support.ts";
import { follow, generatedId } from "./process-commands.ts";
import { table } from "./output.ts";

const clientOf = (ctx: CliContext) => new LashProcessClient({ ingressUrl: ctx.ingress });

const tools: Command = {
  name: "tools",
  args: "",
  summary: "list the endpoint's catalog: tools and programs with their argument schemas",
  options: {},
  async run(ctx) {
    const catalog = await clientOf(ctx).tools();
    if (ctx.json) printJson(ctx, { tools: catalog });
    else {
      const args = (schema: Record<string, unknown>) => {
        const props = Object.keys(schema.properties ?? {});
        const required = new Set((schema.required ?? []) as string[]);
        return props.map((p) => (required.has(p) ? p : `${p}?`)).join(", ");
      };
      ctx.io.out(
        table(
          ["NAME", "KIND", "ARGS", "DESCRIPTION"],
          catalog.map((t) => [t.name, t.kind, args(t.argsSchema), t.description ?? ""]),
        ),
      );
    }
    return ExitCode.ok;
  },
};

/** `#3  assistant  -> std_echo({"value":1})` and the like. */
export function sessionLine(e: SessionEntry): string {
  const m = e.message;
  const usage = e.usage ? `  [${e.usage.totalTokens} tokens]` : "";
  const turn = `${e.turnId}${e.final ? " (final)" : ""}`;
  switch (m.role) {
    case "assistant": {
      const calls = (m.toolCalls ?? []).map((c) => `-> ${c.name}(${c.arguments})`).join(" ");
      return `#${e.sequence}  ${turn}  assistant  ${[m.content ?? "", calls].filter((x) => x).join(" ")}${usage}`;
    }
    case "tool":
      return `#${e.sequence}  ${turn}  tool ${m.name}${m.processId ? ` [${m.processId}]` : ""}  ${m.content}`;
    default:
      return `#${e.sequence}  ${turn}  ${m.role}  ${m.content}`;
  }
}

const session: Command = {
  name: "session",
  args: "<id>",
  summary: "print a session's conversation: messages, tool calls and results, usage",
  details: ["--after N           only entries after sequence N", "--limit N           at most N entries, 1..1000 (default 100)"],
  options: { after: { type: "string" }, limit: { type: "string" } },
  async run(ctx, [id], values) {
    const client = clientOf(ctx);
    const limit = intOption(values, "limit", { min: 1, max: 1000 });
    const entries = await client.session(id!, { after: intOption(values, "after") ?? 0, ...(limit === undefined ? {} : { limit }) });
    if (ctx.json) printJson(ctx, { entries });
    else ctx.io.out(entries.length === 0 ? `no entries in session ${id}` : entries.map(sessionLine).join("\n"));
    return ExitCode.ok;
  },
};

const turn: Command = {
  name: "turn",
  args: "<session> <message>",
  summary: "start one sub-agent turn (a session_turn process) in a session",
  details: [
    "--id ID             process id (default: a generated lashctl-… id)",
    "--output-contract JSON  a JSON Schema the final answer must satisfy",
    "--max-iterations N  model calls this turn may make (within the endpoint's budget)",
    "--wait              print events as they arrive and wait for the outcome",
  ],
  options: { id: { type: "string" }, "output-contract": { type: "string" }, "max-iterations": { type: "string" }, wait: { type: "boolean" } },
  async run(ctx, [sessionId, message], values) {
    const contract = stringOption(values, "output-contract");
    const maxIterations = intOption(values, "max-iterations", { min: 1, max: 1000 });
    const registration: ProcessRegistrationInput = {
      id: stringOption(values, "id") ?? generatedId(),
      input: {
        type: "session_turn",
        session: sessionId!,
        turnInput: maxIterations === undefined ? message! : { message: message!, maxIterations },
        ...(contract === undefined ? {} : { outputContract: jsonArgument(contract, "--output-contract") as never }),
      },
      provenance: { ownerScope: { sessionId: sessionId! }, hostProfileId: "", causedBy: { kind: "host", id: "lashctl" } },
    };
    const handle = await clientOf(ctx).start(registration);
    const started = handle.started!;
    if (ctx.json && !values.wait) printJson(ctx, started);
    else (ctx.json ? ctx.io.err : ctx.io.out)(`started ${started.id} (${started.status}${started.invocationId ? `, ${started.invocationId}` : ""})`);
    return values.wait ? follow(ctx, handle) : ExitCode.ok;
  },
};

export const agentCommands: Command[] = [tools, turn, session];
