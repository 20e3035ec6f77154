/**
 * A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (real HTTP,
 * JSON or SSE when the request says `stream: true`), standing in for a model API.
 * The test sets `respond` to decide each answer from the request; every request is
 * recorded, and `answered` counts the ones that got a 200.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export type Reply =
  | { content?: string | null; toolCalls?: ScriptedToolCall[]; usage?: { prompt: number; completion: number } }
  | { status: number; body: unknown; headers?: Record<string, string> }
  /** Never answers (until the client goes away). */
  | { hang: true };

export interface ModelRequest {
  n: number;
  body: any;
  /** Set when the client closed the connection before an answer. */
  abandoned: boolean;
}

export interface ScriptedModel {
  readonly url: string;
  readonly requests: ModelRequest[];
  /** Requests answered with a 200 (a completed model call). */
  answered(): number;
  respond: (req: ModelRequest) => Reply;
  close(): Promise<void>;
}

export async function startScriptedModel(): Promise<ScriptedModel> {
  const requests: ModelRequest[] = [];
  let answered = 0;
  const model: ScriptedModel = {
    url: "",
    requests,
    answered: () => answered,
    respond: () => ({ content: "no script" }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.setEncoding("utf8").on("data", (d: string) => (raw += d));
    req.on("end", () => {
      const entry: ModelRequest = { n: requests.length + 1, body: raw ? JSON.parse(raw) : {}, abandoned: false };
      requests.push(entry);
      res.on("close", () => {
        if (!res.writableEnded) entry.abandoned = true;
      });
      if (req.url !== "/v1/chat/completions" || req.method !== "POST") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      let reply: Reply;
      try {
        reply = model.respond(entry);
      } catch (err) {
        reply = { status: 500, body: { error: { message: `script error: ${(err as Error).message}` } } };
      }
      if ("hang" in reply) return;
      if ("status" in reply) {
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(JSON.stringify(reply.body));
        return;
      }
      answered++;
      const toolCalls = (reply.toolCalls ?? []).map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments) },
      }));
      const usage = { prompt_tokens: reply.usage?.prompt ?? 10, completion_tokens: reply.usage?.completion ?? 5 };
      const fullUsage = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
      const finish = toolCalls.length ? "tool_calls" : "stop";
      const base = { id: `cmpl-${entry.n}`, created: 0, model: entry.body.model ?? "scripted" };
      if (entry.body.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const send = (chunk: unknown) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        const chunk = (delta: unknown, finish_reason: string | null) => ({
          ...base,
          object: "chat.completion.chunk",
          choices: [{ index: 0, delta, finish_reason }],
        });
        send(chunk({ role: "assistant", content: "" }, null));
        // The content in two pieces, each tool call's arguments in two pieces: the client must assemble them.
        const content = reply.content ?? "";
        if (content) {
          send(chunk({ content: content.slice(0, Math.ceil(content.length / 2)) }, null));
          send(chunk({ content: content.slice(Math.ceil(content.length / 2)) }, null));
        }
        toolCalls.forEach((c, index) => {
          const args = c.function.arguments;
          send(chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.function.name, arguments: args.slice(0, 3) } }] }, null));
          send(chunk({ tool_calls: [{ index, function: { arguments: args.slice(3) } }] }, null));
        });
        send(chunk({}, finish));
        if (entry.body.stream_options?.include_usage) send({ ...base, object: "chat.completion.chunk", choices: [], usage: fullUsage });
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          ...base,
          object: "chat.completion",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: reply.content ?? null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
              finish_reason: finish,
            },
          ],
          usage: fullUsage,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (model as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return model;
}

/** The last message of a request's conversation. */
export const lastMessage = (req: ModelRequest): any => req.body.messages.at(-1);
