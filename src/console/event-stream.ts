import type { IncomingMessage, ServerResponse } from "node:http";
import type { LashProcessClient } from "../client/index.ts";
import { securityHeaders } from "./html.ts";

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

/**
 * `GET /processes/<id>/stream`: the process's events after `after` as server-sent
 * events (`event: lash`, `id:` = sequence, so a reconnecting browser resumes with
 * Last-Event-ID), fed by the `events` long poll; `event: end` after the terminal one.
 */
export async function streamEvents(
  client: LashProcessClient,
  id: string,
  after: number,
  req: IncomingMessage,
  res: ServerResponse,
  streams: Set<AbortController>,
): Promise<void> {
  const stop = new AbortController();
  streams.add(stop);
  req.once("close", () => stop.abort());
  res.writeHead(200, { ...securityHeaders(), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" });
  res.write("retry: 2000\n\n");
  const heartbeat = setInterval(() => res.write(": ping\n\n"), HEARTBEAT_MS);
  try {
    for await (const event of client.handle(id).events({ after, follow: true, signal: stop.signal })) {
      res.write(`id: ${event.sequence}\nevent: lash\ndata: ${JSON.stringify(event)}\n\n`);
    }
    res.write("event: end\ndata: {}\n\n");
  } catch (err) {
    if (!stop.signal.aborted) res.write(`event: failure\ndata: ${JSON.stringify(err instanceof Error ? err.message : String(err))}\n\n`);
  } finally {
    clearInterval(heartbeat);
    streams.delete(stop);
    res.end();
  }
}
