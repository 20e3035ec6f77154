import { z } from "zod";
import { LashError } from "../model/index.ts";
import type { LashRuntime } from "../runtime/runtime-config.ts";
import type { SessionInput, SessionOutput } from "../model/wire.ts";

/** `LashProcesses/session`: a page of a session's conversation (an unknown session has none). */
export async function readSession(rt: LashRuntime, input: z.infer<typeof SessionInput>): Promise<z.infer<typeof SessionOutput>> {
  if (rt.sessions === undefined) {
    throw new LashError("unreachable", "this endpoint has no session store (createServices({ sessions }))");
  }
  return { entries: await rt.sessions.read(input.id, { after: input.after, ...(input.limit === undefined ? {} : { limit: input.limit }) }) };
}
