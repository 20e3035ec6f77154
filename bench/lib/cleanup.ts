/**
 * Everything the benchmark starts registers how to stop it here; `runCleanups`
 * runs them newest first (on success, on error, and on SIGINT/SIGTERM).
 */
const cleanups: { what: string; fn: () => Promise<void> }[] = [];

export function onCleanup(what: string, fn: () => Promise<void>): () => void {
  const entry = { what, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const { what, fn } = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      console.error(`bench: cleanup of ${what} failed: ${(err as Error).message}`);
    }
  }
}

let stopping = false;

/** Set on SIGINT/SIGTERM: load loops end at their next request and no new section starts. */
export function markStopping(): void {
  stopping = true;
}

export function isStopping(): boolean {
  return stopping;
}
