import { LashError, type ProcessRecord } from "../model/index.ts";
import type { ListFilter } from "./port.ts";

/** `id` (the default): ascending ids. `newest`: newest first (creation time, then id, both descending). */
export type ListOrder = NonNullable<ListFilter["order"]>;

/** Where the next page of a `newest` listing starts: strictly before this row. */
export interface NewestCursor {
  createdAtMs: number;
  id: string;
}

/** The cursor a page ending at `last` hands out: the id, or `<createdAtMs>:<id>` for `newest`. */
export function cursorAfter(last: ProcessRecord, order: ListOrder | undefined): string {
  return order === "newest" ? `${last.createdAtMs}:${last.id}` : last.id;
}

export function parseNewestCursor(cursor: string): NewestCursor {
  const match = /^(\d{1,16}):(.+)$/.exec(cursor);
  if (match === null)
    throw new LashError("invalid_input", `cursor: not a cursor of a newest-first listing (got ${JSON.stringify(cursor)})`, { field: "cursor" });
  return { createdAtMs: Number(match[1]), id: match[2]! };
}

/** Orders records as `order` lists them. */
export function compareForOrder(order: ListOrder | undefined): (a: ProcessRecord, b: ProcessRecord) => number {
  const byId = (a: ProcessRecord, b: ProcessRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (order !== "newest") return byId;
  return (a, b) => b.createdAtMs - a.createdAtMs || byId(b, a);
}

/** Whether `record` comes after `cursor` in `order`. */
export function isAfterCursor(record: ProcessRecord, cursor: string | undefined, order: ListOrder | undefined): boolean {
  if (cursor === undefined) return true;
  if (order !== "newest") return record.id > cursor;
  const c = parseNewestCursor(cursor);
  return record.createdAtMs < c.createdAtMs || (record.createdAtMs === c.createdAtMs && record.id < c.id);
}
