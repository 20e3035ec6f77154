/**
 * The endpoint alone: `node src/main.ts`, configured from env (see README,
 * "Configuration"). The one place `restate.serve`-style listening happens.
 */
import { createServer } from "node:http2";
import { once } from "node:events";
import { readEnvConfig } from "./config.ts";
import { createLashEndpoint, requestStartupSweep } from "./endpoint.ts";

async function main(): Promise<void> {
  const config = readEnvConfig();
  const { endpoint, registry, sessions } = await createLashEndpoint(config);
  const server = createServer(endpoint.http2Handler());
  server.listen(config.PORT, config.LASH_BIND_HOST);
  await once(server, "listening");
  console.info(`lash: endpoint listening on ${config.LASH_BIND_HOST ?? "*"}:${config.PORT} (registry ${registry.kind}, ${registry.durabilityTier})`);
  if (config.LASH_RECOVER_ON_START) void requestStartupSweep(config);
  const shutdown = async () => {
    await registry.close();
    await sessions.close();
    process.exit(0);
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  console.error(`lash: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
