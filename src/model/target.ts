import type { ProcessInput } from "./registration.ts";

/** What a process runs, as one label: its tool or program name, else its input kind (`session_turn`, `external`). */
export function targetOf(input: ProcessInput): string {
  switch (input.type) {
    case "tool_call":
      return input.call.tool;
    case "program":
      return input.name;
    default:
      return input.type;
  }
}
