/**
 * A scripted stand-in for an OpenAI-compatible chat-completions API, for trying the
 * built-in session-turn runner without a model: `node examples/scripted-model-server.ts`
 * (PORT, default 9083). It always does the same thing: when the last message is the
 * user's and a tool is offered, it calls the first tool with `{"value": <the message>}`;
 * otherwise it answers with what the last message said. Point a real model at the
 * endpoint instead with LASH_MODEL_BASE_URL (Ollama, vLLM, LM Studio, OpenAI, …).
 */
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 9083);
let calls = 0;

const server = createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8").on("data", (d: string) => (raw += d));
  req.on("end", () => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return reply(404, { error: { message: `no route ${req.method} ${req.url}` } });
    const request = JSON.parse(raw || "{}") as {
      model?: string;
      stream?: boolean;
      messages?: { role: string; content: string | null }[];
      tools?: { function: { name: string } }[];
    };
    if (request.stream) return reply(400, { error: { message: "this scripted server does not stream" } });
    const last = request.messages?.at(-1);
    const tool = request.tools?.[0]?.function.name;
    calls++;
    const message =
      last?.role === "user" && tool !== undefined
        ? {
            role: "assistant",
            content: null,
            tool_calls: [{ id: `call-${calls}`, type: "function", function: { name: tool, arguments: JSON.stringify({ value: last.content }) } }],
          }
        : { role: "assistant", content: `The ${last?.role === "tool" ? "tool" : "user"} said: ${last?.content ?? ""}` };
    reply(200, {
      id: `scripted-${calls}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: request.model ?? "scripted",
      choices: [{ index: 0, message, finish_reason: "tool_calls" in message ? "tool_calls" : "stop" }],
      usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
    });
  });
});

server.listen(port, "127.0.0.1", () => console.info(`scripted model listening on http://127.0.0.1:${port}/v1`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
process.once("SIGINT", () => server.close(() => process.exit(0)));
