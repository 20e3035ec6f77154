import { z } from "zod";
import { Limits } from "./limits.ts";
import { NAME_PATTERN, NAME_PATTERN_MESSAGE } from "./names.ts";

/**
 * A process id IS the Restate workflow key `LashProcessWorkflow/<id>`, so it is
 * validated before it reaches a URL path or a query.
 */
export const ProcessId = z
  .string()
  .refine((s) => s.trim().length > 0, "must not be blank")
  .refine((s) => s.length <= Limits.processIdMaxLength, `must be at most ${Limits.processIdMaxLength} characters`)
  .refine((s) => s === "" || NAME_PATTERN.test(s), NAME_PATTERN_MESSAGE);
export type ProcessId = z.infer<typeof ProcessId>;
