import { z } from "zod";
import { JsonValue } from "./json-value.ts";

export const FailureClass = z.enum([
  "invalid_request",
  "unavailable",
  "permission_denied",
  "timeout",
  "execution",
  "external",
  "resource_limit",
  "internal",
  "io",
]);
export type FailureClass = z.infer<typeof FailureClass>;

export const AbandonWriter = z.enum(["engine_gave_up", "sweep", "reconciled_request"]);

/** The one terminal outcome of a process, tagged by `type`. */
export const ProcessAwaitOutput = z.discriminatedUnion("type", [
  z.object({ type: z.literal("success"), value: JsonValue, control: JsonValue.optional() }),
  z.object({
    type: z.literal("failure"),
    class: FailureClass,
    code: z.string().min(1),
    message: z.string(),
    raw: JsonValue.optional(),
  }),
  z.object({ type: z.literal("cancelled"), message: z.string(), reason: z.string().optional() }),
  z.object({
    type: z.literal("abandoned"),
    evidence: z.object({ writer: AbandonWriter, atMs: z.number() }),
  }),
]);
export type ProcessAwaitOutput = z.infer<typeof ProcessAwaitOutput>;
export type ProcessFailureOutput = Extract<ProcessAwaitOutput, { type: "failure" }>;
