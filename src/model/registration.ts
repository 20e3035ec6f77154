import { z } from "zod";
import { Limits, jsonSize } from "./limits.ts";
import { NAME_PATTERN, NAME_PATTERN_MESSAGE } from "./names.ts";
import { ProcessId } from "./process-id.ts";
import { JsonObject, JsonValue } from "./json-value.ts";

const Json = JsonValue;

export const ToolCall = z.object({
  tool: z.string().min(1),
  args: Json.default({}),
  callId: z.string().optional(),
});

/** What a process runs, tagged by `type`. */
export const ProcessInput = z.discriminatedUnion("type", [
  z.object({ type: z.literal("tool_call"), call: ToolCall }),
  z.object({ type: z.literal("program"), name: z.string().min(1), args: Json.default({}) }),
  z.object({
    type: z.literal("session_turn"),
    session: z.string().min(1),
    turnInput: Json,
    outputContract: Json.optional(),
  }),
  z.object({ type: z.literal("external"), metadata: Json.default({}) }),
]);
export type ProcessInput = z.infer<typeof ProcessInput>;

export const EventTypeDecl = z.object({
  name: z
    .string()
    .min(1)
    .max(Limits.eventTypeNameMaxLength)
    .regex(NAME_PATTERN, NAME_PATTERN_MESSAGE)
    .refine((n) => !n.startsWith("process."), "the process.* namespace is reserved for core events"),
  /** JSON Schema (draft 2020-12) every payload of this type must satisfy. */
  payloadSchema: JsonObject.optional(),
  semantics: z.object({ wake: z.object({}).optional() }).optional(),
});
export type EventTypeDecl = z.infer<typeof EventTypeDecl>;

export const CausedBy = z.object({
  kind: z.enum(["process", "turn", "tool_call", "host"]),
  id: z.string().min(1),
});

export const Provenance = z.object({
  ownerScope: z.object({ sessionId: z.string(), agentFrameId: z.string().optional() }),
  hostProfileId: z.string(),
  causedBy: CausedBy.optional(),
});
export type Provenance = z.infer<typeof Provenance>;

export const ProcessRegistration = z
  .object({
    id: ProcessId,
    input: ProcessInput,
    eventTypes: z.array(EventTypeDecl).max(Limits.eventTypesMax).default([]),
    provenance: Provenance,
    /** Runs recovery may start (a killed run is resubmitted while `attempt < maxAttempts`). */
    maxAttempts: z.number().int().min(1).max(Limits.maxAttemptsMax).default(Limits.defaultMaxAttempts),
    /**
     * A deadline for the whole process, children included, counted from its first start
     * (the row's creation). Past it the outcome is `failure{class: "timeout", code:
     * "deadline_exceeded"}` and its children are cancelled. Part of the registration hash.
     */
    timeoutMs: z.number().int().min(1).max(Limits.timeoutMaxMs).optional(),
  })
  .superRefine((reg, ctx) => {
    const seen = new Set<string>();
    reg.eventTypes.forEach((decl, i) => {
      if (seen.has(decl.name)) {
        ctx.addIssue({ code: "custom", path: ["eventTypes", i, "name"], message: `duplicate event type "${decl.name}"` });
      }
      seen.add(decl.name);
    });
    const size = jsonSize(reg.input);
    if (size > Limits.inputMaxBytes) {
      ctx.addIssue({
        code: "custom",
        path: ["input"],
        message: `input is ${size} bytes; the limit is ${Limits.inputMaxBytes}`,
      });
    }
  });
export type ProcessRegistration = z.infer<typeof ProcessRegistration>;
/** What callers may send: defaults (`eventTypes`, `args`) filled in by parsing. */
export type ProcessRegistrationInput = z.input<typeof ProcessRegistration>;
