/**
 * The endpoint alone: `node src/main.ts`, configured from env (see README,
 * "Configuration"). The one place `restate.serve`-style listening happens.
 */
import { readEnvConfig } from "./config.ts";
import { createLashEndpoint, requestStartupSweep } from "./endpoint.ts";
import { createLog, jsonLine } from "./observability/json-log.ts";

/**
 * Last resort: a promise rejected with nobody listening (a library bug, a
 * validator gone wrong) is logged, not fatal. Every state change is a
 * transaction and Restate retries the invocation, so keeping the endpoint up
 * loses nothing; exiting would crash-loop on the same request.
 */
process.on("unhandledRejection", (reason: unknown) => {
  console.error(`lash: unhandled rejection (endpoint kept running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});

async function main(): Promise<void> {
  const config = readEnvConfig();
  const log = createLog(config.LASH_LOG_FORMAT, (line) => console.info(line));
  const { listen, registry, observability, sessions } = await createLashEndpoint(config);
  await listen(config.PORT, config.LASH_BIND_HOST);
  log.info(`lash: endpoint listening on ${config.LASH_BIND_HOST ?? "*"}:${config.PORT} (registry ${registry.kind}, ${registry.durabilityTier})`);
  if (config.LASH_RECOVER_ON_START) void requestStartupSweep(config, undefined, { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) });
  const shutdown = async () => {
    await observability?.close();
    await registry.close();
    await sessions.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

main().catch((err: unknown) => {
  const message = `lash: failed to start: ${err instanceof Error ? err.message : String(err)}`;
  console.error(process.env.LASH_LOG_FORMAT === "json" ? jsonLine("error", message) : message);
  process.exit(1);
});
