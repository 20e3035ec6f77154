import type { FailureClass, ProcessFailureOutput } from "../model/index.ts";

/**
 * Thrown by a process body (or a step) to end the process with a deterministic
 * `failure` outcome: never retried. Anything else a step throws is retried.
 */
export class ProcessFailure extends Error {
  override name = "ProcessFailure";
  readonly class: FailureClass;
  readonly code: string;
  readonly raw: unknown;

  constructor(cls: FailureClass, code: string, message: string, opts: { raw?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.class = cls;
    this.code = code;
    this.raw = opts.raw;
  }

  toOutput(): ProcessFailureOutput {
    const out: ProcessFailureOutput = { type: "failure", class: this.class, code: this.code, message: this.message };
    if (this.raw !== undefined) out.raw = this.raw as ProcessFailureOutput["raw"];
    return out;
  }

  static fromOutput(out: ProcessFailureOutput): ProcessFailure {
    return new ProcessFailure(out.class, out.code, out.message, { raw: out.raw });
  }
}
