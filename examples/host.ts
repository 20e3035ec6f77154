import { LashProcessClient, toolRef } from "lash-processes/client";
import type { add } from "./tools.ts";

// The host names the tool by type only: it never loads the tool's body.
const addTool = toolRef<typeof add>("acc.add");
const client = new LashProcessClient({ ingressUrl: process.env.RESTATE_INGRESS_URL ?? "http://127.0.0.1:8080" });

const handle = await client.start(addTool, { a: 2, b: 40 }, { id: "sum-1", sessionId: "chat-7" });
const outcome = await handle.result();
if (outcome.type === "success") console.log(`${handle.id}: sum = ${outcome.value.sum}`);
else console.log(`${handle.id}: ${outcome.type}`);

// @ts-expect-error `a` must be a number: a wrong argument type does not compile.
if (process.env.NEVER) await client.start(addTool, { a: "2", b: 40 });
