import { createLashEndpoint, readEnvConfig } from "lash-processes";
import { accounting } from "./tools.ts";

const config = readEnvConfig();
const endpoint = await createLashEndpoint(config, [accounting]);
await endpoint.listen(config.PORT, config.LASH_BIND_HOST);
console.info(`accounting endpoint listening on :${config.PORT}`);
