import { LashError, Limits, isLashError, jsonSize } from "../model/index.ts";
import type { Page } from "../registry/port.ts";

/**
 * The longest prefix of `items` whose JSON stays within `maxBytes` (at least
 * one item, which the write-side limits keep far below it). A page of up to
 * 1,000 large events or records could otherwise pass Restate's 32 MiB message
 * limit and be retried forever (RT0003). `cut` says the caller must continue
 * (`list`: `nextCursor`; `events`: `after` = the last sequence returned).
 */
export function cutToBytes<T>(items: readonly T[], maxBytes: number = Limits.pageMaxBytes): { items: T[]; cut: boolean } {
  let total = 2;
  for (let i = 0; i < items.length; i++) {
    total += jsonSize(items[i]) + 1;
    if (total > maxBytes && i > 0) return { items: items.slice(0, i), cut: true };
  }
  return { items: [...items], cut: false };
}

/**
 * The first `count` (at least one) items of a registry page, keyset by id: when fewer than
 * all, the next page starts after the last item kept; otherwise the page's own cursor stands.
 */
export function pagePrefix<T extends { id: string }>(page: Page<T>, count: number): Page<T> {
  const cut = count < page.items.length;
  const items = cut ? page.items.slice(0, count) : page.items;
  const nextCursor = cut ? items.at(-1)!.id : page.nextCursor;
  return nextCursor === undefined ? { items } : { items, nextCursor };
}

/** A registry page cut to `Limits.pageMaxBytes` (`pagePrefix`). */
export function cutPageToBytes<T extends { id: string }>(page: Page<T>): Page<T> {
  return pagePrefix(page, cutToBytes(page.items).items.length);
}

/**
 * Runs a read handler's registry call once: a failure that is not a LashError
 * (the database is down) becomes a terminal 503 `unreachable` the caller can
 * retry, instead of an invocation Restate retries forever while the client waits.
 */
export async function readOnce<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isLashError(err)) throw err;
    throw new LashError("unreachable", `${what}: the registry could not be read (${err instanceof Error ? err.message : String(err)}); try again`, {
      cause: err,
    });
  }
}
