export { serveInProcess, type InProcessEndpoint } from "../../src/testing/in-process-endpoint.ts";
