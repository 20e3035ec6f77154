/**
 * Serves a Restate endpoint on 127.0.0.1:PORT only (the SDK's `listen` binds every
 * interface), and exits cleanly on SIGTERM/SIGINT so `--cpu-prof` output is written.
 */
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";

/** `services` bound as `src/endpoint.ts` binds them (`createEndpointHandler`). */
export async function serveLocal(services: restate.EndpointOptions["services"], port: number, onStop: () => Promise<void> = async () => {}): Promise<void> {
  const server = http2.createServer(restate.createEndpointHandler({ services }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const stop = () => {
    void onStop().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
