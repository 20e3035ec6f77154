/** `lashctl prune`: retention through `LashProcessRecovery/<registry>/prune` on the ingress. */
import { LashProcessClient } from "../client/index.ts";
import { parseDuration } from "../model/duration.ts";
import { ExitCode, UsageError, intOption, printJson, stringOption, type Command } from "./cli-support.ts";

export const pruneCommand: Command = {
  name: "prune",
  args: "",
  summary: "delete finished processes older than an age, with their events (retention)",
  details: [
    "--older-than AGE    required: e.g. 30d, 12h, 90m (finished = completed, failed, cancelled, abandoned)",
    "--dry-run           count and list what would go; delete nothing",
    "--limit N           at most N processes in this call (default 100000)",
    "--registry NAME     the LashProcessRecovery key (default: $LASH_REGISTRY_NAME or default)",
  ],
  options: { "older-than": { type: "string" }, "dry-run": { type: "boolean" }, limit: { type: "string" }, registry: { type: "string" } },
  async run(ctx, _positionals, values) {
    const olderThan = stringOption(values, "older-than");
    if (olderThan === undefined) throw new UsageError("--older-than is required (e.g. --older-than 30d)");
    const olderThanMs = durationOption("--older-than", olderThan);
    const limit = intOption(values, "limit", { min: 1, max: 1_000_000 });
    const dryRun = values["dry-run"] === true;
    const name = stringOption(values, "registry") ?? ctx.env.LASH_REGISTRY_NAME ?? "default";
    const recovery = new LashProcessClient({ ingressUrl: ctx.ingress }).recovery(name);
    const report = await recovery.prune({ olderThanMs, dryRun, ...(limit === undefined ? {} : { limit }) });
    if (ctx.json) printJson(ctx, report);
    else {
      const cutoff = new Date(report.cutoffMs).toISOString();
      ctx.io.out(
        `${dryRun ? "would prune" : "pruned"} ${report.pruned} finished process(es) last updated before ${cutoff}${report.more ? " (more remain: run again)" : ""}`,
      );
      if (dryRun) for (const id of report.ids) ctx.io.out(`  ${id}`);
    }
    return ExitCode.ok;
  },
};

/** A `30d` / `12h` / `90m` flag value in ms, or a usage error naming the flag. */
export function durationOption(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${flag} must be a duration like 30d, 12h, 90m or 45s (got ${JSON.stringify(text)})`);
  return ms;
}
