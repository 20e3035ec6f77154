import { z } from "zod";
import { ProcessFailure } from "../process-failure.ts";
import { schemaProblem } from "../../registry/payload-schema.ts";

/** `turnInput`: the user's message, or `{ message, maxIterations?, maxTokens? }` (a per-turn budget within the endpoint's). */
const TurnInputObject = z.looseObject({
  message: z.string().min(1),
  maxIterations: z.number().int().min(1).optional(),
  maxTokens: z.number().int().min(1).optional(),
});
export type TurnInput = z.infer<typeof TurnInputObject>;

export function parseTurnInput(turnInput: unknown): TurnInput {
  if (typeof turnInput === "string" && turnInput.length > 0) return { message: turnInput };
  const parsed = TurnInputObject.safeParse(turnInput);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = ["turnInput", ...(issue?.path ?? [])].join(".");
  throw new ProcessFailure(
    "invalid_request",
    "invalid_turn_input",
    `${field}: ${issue?.message ?? "invalid"} (a non-empty string, or { message, maxIterations?, maxTokens? })`,
  );
}

/** An output contract must be a JSON Schema object the validator can evaluate. */
export function checkOutputContract(contract: unknown): Record<string, unknown> | undefined {
  if (contract === undefined || contract === null) return undefined;
  const problem = typeof contract === "object" && !Array.isArray(contract) ? schemaProblem(contract) : "not an object";
  if (problem !== undefined) throw new ProcessFailure("invalid_request", "invalid_output_contract", `outputContract: not a usable JSON Schema (${problem})`);
  return contract as Record<string, unknown>;
}
