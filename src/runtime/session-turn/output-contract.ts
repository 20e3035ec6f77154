import { checkOffLoop } from "../../registry/schema-checker.ts";
import { evaluate, runsRegexes, validatorFor, type SchemaVerdict } from "../../registry/schema-eval.ts";
import { ProcessFailure } from "../process-failure.ts";

/** Runs `fn` as a durable step (its result journaled): `ctx.step` of the turn. */
export type JournaledStep = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Checks the final answer against the turn's `outputContract` (JSON Schema): the answer
 * must be JSON that satisfies it. Returns the parsed value; otherwise
 * `failure{execution, output_contract}` with the reason.
 *
 * A contract that runs regular expressions (`runsRegexes`) is evaluated off the event
 * loop with a time limit (`registry/schema-checker.ts`), inside a durable step: the
 * time limit makes that verdict depend on timing, so a replay must reuse it rather
 * than evaluate again. Contracts without regular expressions are checked in place, as
 * before (deterministic, no journal entry).
 */
export async function checkAgainstContract(contract: Record<string, unknown>, content: string | null, step: JournaledStep): Promise<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(content ?? "");
  } catch (err) {
    throw new ProcessFailure("execution", "output_contract", `the final answer is not JSON (${(err as Error).message}): ${(content ?? "").slice(0, 200)}`);
  }
  const verdict = runsRegexes(contract)
    ? await step("output contract check", () => checkOffLoop(undefined, contract, value))
    : evaluate(validatorFor(contract), value);
  assertContractVerdict(verdict, value);
  return value;
}

function assertContractVerdict(verdict: SchemaVerdict, value: unknown): void {
  switch (verdict.kind) {
    case "valid":
      return;
    case "invalid":
      throw new ProcessFailure(
        "execution",
        "output_contract",
        `the final answer does not satisfy the output contract at ${verdict.location || "(root)"}: ${verdict.error}`,
        { raw: { answer: value as never } },
      );
    case "unevaluable":
      throw new ProcessFailure("execution", "output_contract", `the output contract cannot be evaluated (${verdict.reason})`, {
        raw: { answer: value as never },
      });
    case "timeout":
      throw new ProcessFailure(
        "execution",
        "output_contract",
        `the output contract took longer than ${verdict.limitMs} ms to evaluate against the final answer ` +
          "(its regular expressions backtrack on it); simplify its patterns",
        { raw: { answer: value as never } },
      );
    case "busy":
      throw new ProcessFailure(
        "unavailable",
        "output_contract",
        `the final answer could not be checked against the output contract: slow schema checks ahead of it kept it waiting ${verdict.waitedMs} ms; run the turn again`,
        { raw: { answer: value as never } },
      );
  }
}
