import { Validator } from "@cfworker/json-schema";
import { ProcessFailure } from "../process-failure.ts";

/**
 * Checks the final answer against the turn's `outputContract` (JSON Schema): the answer
 * must be JSON that satisfies it. Returns the parsed value; otherwise
 * `failure{execution, output_contract}` with the reason.
 */
export function checkAgainstContract(contract: Record<string, unknown>, content: string | null): unknown {
  let value: unknown;
  try {
    value = JSON.parse(content ?? "");
  } catch (err) {
    throw new ProcessFailure("execution", "output_contract", `the final answer is not JSON (${(err as Error).message}): ${(content ?? "").slice(0, 200)}`);
  }
  const result = new Validator(contract, "2020-12", false).validate(value);
  if (!result.valid) {
    const first = result.errors.find((e) => e.instanceLocation !== "#") ?? result.errors[0];
    const where = first?.instanceLocation.replace(/^#\/?/, "").replaceAll("/", ".") || "(root)";
    throw new ProcessFailure(
      "execution",
      "output_contract",
      `the final answer does not satisfy the output contract at ${where}: ${first?.error ?? "invalid"}`,
      {
        raw: { answer: value as never },
      },
    );
  }
  return value;
}
