/** Human-readable rendering of records, events and outcomes for lashctl. */
import type { ProcessAwaitOutput, ProcessEvent, ProcessInput, ProcessRecord } from "../model/index.ts";

const iso = (ms: number): string => new Date(ms).toISOString();

/** `tool std.echo`, `program my.flow`, `session_turn s1`, `external`. */
export function describeInput(input: ProcessInput): string {
  switch (input.type) {
    case "tool_call":
      return `tool ${input.call.tool}`;
    case "program":
      return `program ${input.name}`;
    case "session_turn":
      return `session_turn ${input.session}`;
    case "external":
      return "external";
  }
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function recordsTable(records: ProcessRecord[]): string {
  return table(
    ["ID", "STATUS", "INPUT", "SESSION", "ATTEMPT", "UPDATED"],
    records.map((r) => [r.id, r.status, describeInput(r.input), r.provenance.ownerScope.sessionId, String(r.attempt), iso(r.updatedAtMs)]),
  );
}

export function recordDetails(r: ProcessRecord): string {
  const input =
    r.input.type === "tool_call"
      ? r.input.call.args
      : r.input.type === "program"
        ? r.input.args
        : r.input.type === "external"
          ? r.input.metadata
          : r.input.turnInput;
  const rows: [string, string][] = [
    ["id", r.id],
    ["status", r.status],
    ["input", `${describeInput(r.input)} ${JSON.stringify(input)}`],
    ["session", r.provenance.ownerScope.sessionId],
    ["attempt", `${r.attempt} of ${r.maxAttempts}`],
    ["created", iso(r.createdAtMs)],
    ["updated", iso(r.updatedAtMs)],
  ];
  if (r.eventTypes.length > 0) rows.push(["event types", r.eventTypes.map((e) => e.name).join(", ")]);
  if (r.outcome !== undefined) rows.push(["outcome", describeOutcome(r.outcome)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** `#2  2026-01-01T10:00:00.000Z  signal.go  {"n":1}` */
export function eventLine(e: ProcessEvent): string {
  const payload = e.payload === null ? "" : `  ${JSON.stringify(e.payload)}`;
  return `#${e.sequence}  ${iso(e.occurredAtMs)}  ${e.type}${payload}`;
}

/** One line: `completed {"x":1}`, `failed io/disk_full: no space`, `cancelled: …`, `abandoned by sweep at …`. */
export function describeOutcome(o: ProcessAwaitOutput): string {
  switch (o.type) {
    case "success":
      return `completed ${JSON.stringify(o.value)}`;
    case "failure":
      return `failed ${o.class}/${o.code}: ${o.message}`;
    case "cancelled":
      return `cancelled: ${o.message}`;
    case "abandoned":
      return `abandoned by ${o.evidence.writer} at ${iso(o.evidence.atMs)}`;
  }
}
