/**
 * The schema checker's worker thread (started by `schema-checker.ts`): evaluates one
 * value against one schema per message, on its own thread, so a regular expression
 * that backtracks stalls this thread only, and the checker can terminate it.
 */
import { parentPort } from "node:worker_threads";
import { SchemaCache, evaluate, validatorFor } from "./schema-eval.ts";
import type { CheckReply, CheckRequest } from "./schema-checker.ts";

const port = parentPort;
if (port === null) throw new Error("schema-check-worker.ts runs as a worker thread (started by schema-checker.ts)");
const schemas = new SchemaCache();

port.on("message", ({ id, key, schema, value }: CheckRequest) => {
  let reply: CheckReply;
  try {
    const validator = key === undefined ? validatorFor(schema) : schemas.get(key, schema).validator();
    reply = { id, verdict: evaluate(validator, value) };
  } catch (err) {
    reply = { id, verdict: { kind: "unevaluable", reason: err instanceof Error ? err.message : String(err) } };
  }
  port.postMessage(reply);
});
port.postMessage("ready" satisfies CheckReply);
