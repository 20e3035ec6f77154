/**
 * The project's tests start restate-server with the testing kit's launcher
 * (`src/testing/restate-server.ts`); this adds the repository root and the
 * `LASH_KEEP_TEST_DATA=1` switch that keeps a failed run's data dir.
 */
import { fileURLToPath } from "node:url";
import { startRestateServer as startKitServer, type RestateServer, type StartRestateServerOptions } from "../../src/testing/restate-server.ts";
import { keepTestData } from "./child.ts";

export { adminQuery, registerDeployment, waitFor, type RestateServer } from "../../src/testing/restate-server.ts";

/** Repository root, derived from this file's location (test/support/). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function startRestateServer(opts: StartRestateServerOptions = {}): Promise<RestateServer> {
  return startKitServer({ keepData: keepTestData(), projectDir: REPO_ROOT, ...opts });
}
