/**
 * The endpoint alone: `node src/main.ts`, configured from env (see README,
 * "Configuration"). The one place `restate.serve`-style listening happens.
 */
import { createServer } from "node:http2";
import { once } from "node:events";
import { readEnvConfig } from "./config.ts";
import { createLashEndpoint, requestStartupSweep } from "./endpoint.ts";
import { createLog, jsonLine } from "./observability/json-log.ts";

async function main(): Promise<void> {
  const config = readEnvConfig();
  const log = createLog(config.LASH_LOG_FORMAT, (line) => console.info(line));
  const { endpoint, registry, observability } = await createLashEndpoint(config);
  const server = createServer(endpoint.http2Handler());
  server.listen(config.PORT, config.LASH_BIND_HOST);
  await once(server, "listening");
  log.info(`lash: endpoint listening on ${config.LASH_BIND_HOST ?? "*"}:${config.PORT} (registry ${registry.kind}, ${registry.durabilityTier})`);
  if (config.LASH_RECOVER_ON_START) void requestStartupSweep(config, undefined, { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) });
  const shutdown = async () => {
    await observability?.close();
    await registry.close();
    process.exit(0);
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  const message = `lash: failed to start: ${err instanceof Error ? err.message : String(err)}`;
  console.error(process.env.LASH_LOG_FORMAT === "json" ? jsonLine("error", message) : message);
  process.exit(1);
});
