import net from "node:net";

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: the OS picks it
 * (listen on port 0), we read it and close the socket again.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`unexpected server address: ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Resolves once `host:port` accepts a TCP connection, rejects after `timeoutMs`. */
export async function waitForPort(port: number, opts: { host?: string; timeoutMs?: number; what?: string; isAlive?: () => boolean } = {}): Promise<void> {
  const host = opts.host ?? "127.0.0.1";
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const what = opts.what ?? `${host}:${port}`;
  for (;;) {
    if (await canConnect(host, port)) return;
    if (opts.isAlive && !opts.isAlive()) throw new Error(`${what}: process exited before ${host}:${port} accepted connections`);
    if (Date.now() > deadline) throw new Error(`${what}: ${host}:${port} did not accept connections within ${opts.timeoutMs ?? 10_000} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `host:port` accepts a TCP connection within 1 s. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** GET `url` answers 2xx within 2 s. */
export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
