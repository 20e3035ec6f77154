export { freePort, waitForPort } from "../../src/testing/ports.ts";
