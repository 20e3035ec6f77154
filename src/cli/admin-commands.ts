/** lashctl commands for operators: recover (sweep / schedule) and register (a deployment). */
import { LashProcessClient, LashClientError } from "../client/index.ts";
import { durationOption } from "./prune-command.ts";
import { ExitCode, UsageError, intOption, printJson, stringOption, type CliContext, type Command } from "./cli-support.ts";

const recover: Command = {
  name: "recover",
  args: "",
  summary: "run one recovery sweep now and print its report, or schedule / unschedule sweeps",
  details: [
    "--registry NAME     the LashProcessRecovery key (default: $LASH_REGISTRY_NAME or default)",
    "--limit N           scan at most N non-terminal processes",
    "--schedule MS       sweep every MS milliseconds (>= 1000), durably, until --unschedule",
    "--unschedule        stop the scheduled sweeps",
    "--retain-for AGE    with --schedule: each sweep also prunes finished processes older than AGE (e.g. 30d)",
  ],
  options: {
    registry: { type: "string" },
    limit: { type: "string" },
    schedule: { type: "string" },
    unschedule: { type: "boolean" },
    "retain-for": { type: "string" },
  },
  async run(ctx, _positionals, values) {
    const everyMs = intOption(values, "schedule", { min: 1000, max: 7 * 24 * 3600 * 1000 });
    const limit = intOption(values, "limit", { min: 1 });
    if (everyMs !== undefined && values.unschedule) throw new UsageError("--schedule and --unschedule exclude each other");
    const name = stringOption(values, "registry") ?? ctx.env.LASH_REGISTRY_NAME ?? "default";
    const retainFor = stringOption(values, "retain-for");
    const retainForMs = retainFor === undefined ? undefined : durationOption("--retain-for", retainFor);
    if (retainForMs !== undefined && everyMs === undefined) throw new UsageError("--retain-for needs --schedule");
    const recovery = new LashProcessClient({ ingressUrl: ctx.ingress }).recovery(name);
    if (everyMs !== undefined) {
      const scheduled = await recovery.schedule(everyMs, retainForMs === undefined ? {} : { retainForMs });
      if (ctx.json) printJson(ctx, scheduled);
      else ctx.io.out(`recovery of registry ${name} scheduled every ${scheduled.everyMs} ms (generation ${scheduled.generation})`);
      return ExitCode.ok;
    }
    if (values.unschedule) {
      const result = await recovery.unschedule();
      if (ctx.json) printJson(ctx, result);
      else ctx.io.out(`scheduled recovery of registry ${name} stopped`);
      return ExitCode.ok;
    }
    const report = await recovery.sweep(limit === undefined ? {} : { limit });
    if (ctx.json) printJson(ctx, report);
    else {
      const { failed, ...counts } = report;
      ctx.io.out(`recovery sweep of registry ${name}:`);
      for (const [key, value] of Object.entries(counts)) ctx.io.out(`  ${key.padEnd(15)} ${value}`);
      ctx.io.out(`  ${"failed".padEnd(15)} ${failed.length}`);
      for (const f of failed) ctx.io.out(`    ${f.id}: ${f.error}`);
    }
    return report.failed.length === 0 ? ExitCode.ok : ExitCode.failed;
  },
};

interface DeploymentAnswer {
  id?: string;
  services?: { name: string }[];
}

/** `POST <admin>/deployments {uri, force: true}`: (re-)registers an endpoint, taking its current service definitions. */
export async function registerDeployment(adminUrl: string, uri: string, signal?: AbortSignal): Promise<DeploymentAnswer> {
  let res: Response;
  try {
    res = await fetch(`${adminUrl.replace(/\/+$/, "")}/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uri, force: true }),
      signal: signal ?? AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new LashClientError("unreachable", `Restate admin API at ${adminUrl} is unreachable: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // plain text
    }
    throw new LashClientError("http_error", `registering ${uri} failed (HTTP ${res.status}): ${message}`, { status: res.status });
  }
  return JSON.parse(text) as DeploymentAnswer;
}

const register: Command = {
  name: "register",
  args: "<uri>",
  summary: "register (or re-register) an endpoint with Restate's admin API, e.g. http://127.0.0.1:9080",
  options: {},
  async run(ctx: CliContext, [uri]) {
    if (!/^https?:\/\/[^/]+/.test(uri!)) throw new UsageError(`<uri> must be an http(s) URL of the endpoint (got ${JSON.stringify(uri)})`);
    const answer = await registerDeployment(ctx.admin, uri!);
    if (ctx.json) printJson(ctx, answer);
    else
      ctx.io.out(
        `registered ${uri} as ${answer.id ?? "?"}: ${(answer.services ?? [])
          .map((s) => s.name)
          .sort()
          .join(", ")}`,
      );
    return ExitCode.ok;
  },
};

export const adminCommands: Command[] = [recover, register];
