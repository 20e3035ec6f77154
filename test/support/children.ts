import type { ProcessRecord } from "../../src/model/index.ts";
import type { ProcessRegistry } from "../../src/registry/port.ts";

/** The children a process started (`<parent>.<n>`, or `<parent>.<n>-<random>` where that id was taken), in start order. */
export async function childrenOf(registry: ProcessRegistry, parentId: string): Promise<ProcessRecord[]> {
  const found: ProcessRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await registry.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    found.push(...page.items.filter((r) => r.provenance.causedBy?.kind === "process" && r.provenance.causedBy.id === parentId));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return found.sort((a, b) => ordinal(a.id, parentId) - ordinal(b.id, parentId));
}

function ordinal(id: string, parentId: string): number {
  return Number(/^\.(\d+)(?:-|$)/.exec(id.slice(parentId.length))?.[1] ?? Number.MAX_SAFE_INTEGER);
}
