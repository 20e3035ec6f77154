/**
 * Serves Restate service definitions from the test process itself over HTTP/2
 * (what restate-server speaks to endpoints), with a `close()` that tears down
 * every open session so `node --test` can exit.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as restate from "@restatedev/restate-sdk";

type ServiceDefinition = restate.EndpointOptions["services"][number];

export interface InProcessEndpoint {
  /** `http://127.0.0.1:PORT`, the URI to register with the admin API. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and destroys open HTTP/2 sessions (in-flight invocations are cut off). */
  close(): Promise<void>;
}

export async function serveInProcess(services: ServiceDefinition[], opts: { port?: number; identityKeys?: string[] } = {}): Promise<InProcessEndpoint> {
  const handler = restate.createEndpointHandler({
    services,
    ...(opts.identityKeys ? { identityKeys: opts.identityKeys } : {}),
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      });
      return closed;
    },
  };
}
