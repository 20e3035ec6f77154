/** The requests the benchmarks send: lash registrations and the calls that run them. */
import type { ProcessInput, ProcessRegistrationInput } from "../../src/model/index.ts";
import { BENCH_STEPS_PROGRAM } from "../bench-plugin.ts";
import { postJson, postOk } from "./http-client.ts";

export function registrationFor(id: string, input: ProcessInput): ProcessRegistrationInput & { eventTypes: { name: string }[] } {
  return { id, input, eventTypes: [], provenance: { ownerScope: { sessionId: "bench" }, hostProfileId: "" } };
}

export const stepsProgram = (count: number): ProcessInput => ({ type: "program", name: BENCH_STEPS_PROGRAM, args: { count } });
export const toolCall = (tool: string, args: ProcessInput extends infer _ ? Record<string, unknown> : never): ProcessInput =>
  ({ type: "tool_call", call: { tool, args } }) as ProcessInput;

/** What one benchmark request does; each returns when the process is terminal. */
export type System = "bare" | "lash" | "lash-start";

export function runner(ingress: string, system: System, steps: number): (id: string) => Promise<void> {
  switch (system) {
    case "bare":
      return async (id) => {
        const res = await postJson(`${ingress}/BareWorkflow/${id}/run`, { steps });
        if (res.status !== 200 || (res.body as { steps?: number }).steps !== steps) throw new Error(`bare ${id}: ${res.status} ${res.text.slice(0, 300)}`);
      };
    case "lash":
      return async (id) => {
        const res = await postJson(`${ingress}/LashProcessWorkflow/${id}/run`, { registration: registrationFor(id, stepsProgram(steps)) });
        expectSuccess(id, res.status, res.body, res.text);
      };
    case "lash-start":
      return async (id) => {
        await postOk(`${ingress}/LashProcesses/start`, { registration: registrationFor(id, stepsProgram(steps)) });
        const res = await postJson(`${ingress}/LashProcessWorkflow/${id}/awaitTerminal`);
        expectSuccess(id, res.status, res.body, res.text);
      };
  }
}

function expectSuccess(id: string, status: number, body: unknown, text: string): void {
  if (status !== 200 || (body as { type?: string }).type !== "success") throw new Error(`lash ${id}: ${status} ${text.slice(0, 300)}`);
}
