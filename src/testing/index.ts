/**
 * `lash-processes/testing`: test your own tools and programs against a real
 * Restate (from your node_modules) and the lash services, in-process.
 */
export { createTestEnvironment, type TestEnvironment, type TestEnvironmentOptions } from "./test-environment.ts";
export { startRestateServer, registerDeployment, adminQuery, waitFor, type RestateServer, type StartRestateServerOptions } from "./restate-server.ts";
export { serveInProcess, type InProcessEndpoint } from "./in-process-endpoint.ts";
export { restateServerBinary, RESTATE_SERVER_INSTALL_HINT } from "./restate-server-binary.ts";
export { freePort } from "./ports.ts";
