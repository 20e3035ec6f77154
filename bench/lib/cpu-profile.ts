/**
 * Summarizes a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per
 * function, self time per category (lash code, Restate SDK, zod, SQLite, …), and
 * inclusive time of chosen functions (e.g. every registry call with what it calls).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers, and the part the thread was busy (not idle, not the profiler's own messages). */
  wallMs: number;
  busyMs: number;
  categories: { category: string; ms: number }[];
  topSelf: { fn: string; where: string; category: string; ms: number }[];
  inclusive: { fn: string; ms: number }[];
}

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\/.*?\/node_modules\//, "")
    .replace(/^file:\/\/.*?\/(src|bench)\//, "$1/")
    .replace(/^bench\/\.build\//, "") // the compiled endpoints (build-endpoints.ts)
    .replace(/^node:internal\//, "node:");

/** What a frame is, by where its code lives. */
export function categoryOf(fn: string, url: string): string {
  if (fn === "(idle)") return "idle";
  if (url === "node:inspector") return "profiler itself";
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)") return "V8/native (program)";
  if (url.includes("/restate-sdk") || url.startsWith("wasm://")) return "Restate SDK (JS + wasm VM)";
  if (url.includes("/zod/")) return "zod";
  if (url.includes("/@cfworker/")) return "json-schema";
  if (/\/src\/registry\//.test(url)) return "lash registry (JS)";
  if (/\/src\//.test(url)) return "lash runtime (JS)";
  if (/\/bench\//.test(url)) return "bench code";
  if (url.startsWith("node:") || url === "") {
    if (/^(prepare|run|get|all|exec|iterate|close)$/.test(fn) && url === "") return "node:sqlite (native)";
    if (/http2|stream|net|buffer|Http2|_write|writev|onStreamRead/.test(`${fn} ${url}`)) return "node http2/net/streams";
    return "node internals / builtins";
  }
  return "other";
}

export function summarizeProfile(path: string, inclusiveNames: RegExp, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) byId.set(node.id, node);
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }

  const bySelf = new Map<string, { fn: string; where: string; category: string; ms: number }>();
  const byCategory = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const fn = functionName || "(anonymous)";
    const category = categoryOf(fn, url);
    total += ms;
    if (category === "idle" || category === "profiler itself") idle += ms;
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : "(native)";
    const key = `${fn}@${where}`;
    const entry = bySelf.get(key) ?? { fn, where, category, ms: 0 };
    entry.ms += ms;
    bySelf.set(key, entry);
    // Inclusive time: every distinct matching function on this sample's stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName;
      if (inclusiveNames.test(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
      }
    }
  }
  return {
    wallMs: total,
    busyMs: total - idle,
    categories: [...byCategory]
      .map(([category, ms]) => ({ category, ms }))
      .filter((c) => c.category !== "idle" && c.category !== "profiler itself")
      .sort((a, b) => b.ms - a.ms),
    topSelf: [...bySelf.values()]
      .filter((e) => e.category !== "idle" && e.category !== "profiler itself")
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
    inclusive: [...inclusive].map(([fn, ms]) => ({ fn, ms })).sort((a, b) => b.ms - a.ms),
  };
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * Summarizes a sampling heap profile (`HeapProfiler.getSamplingProfile`): live
 * bytes by category of the allocating code, and the top allocating functions.
 * `attribute` walks up the stack to the first frame outside the SDK, node and
 * zod, so the table says which of our calls the memory is held for.
 */
export function summarizeHeapProfile(
  path: string,
  top = 12,
): {
  totalMiB: number;
  categories: { category: string; mib: number }[];
  topSelf: { fn: string; where: string; mib: number }[];
  byCaller: { caller: string; mib: number }[];
} {
  const root = (JSON.parse(readFileSync(path, "utf8")) as { head: HeapNode }).head;
  const categories = new Map<string, number>();
  const self = new Map<string, { fn: string; where: string; bytes: number }>();
  const byCaller = new Map<string, number>();
  let total = 0;
  const visit = (node: HeapNode, stack: HeapNode["callFrame"][]) => {
    const frames = [...stack, node.callFrame];
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const fn = functionName || "(anonymous)";
      total += node.selfSize;
      const category = categoryOf(fn, url);
      categories.set(category, (categories.get(category) ?? 0) + node.selfSize);
      const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : "(native)";
      const e = self.get(`${fn}@${where}`) ?? { fn, where, bytes: 0 };
      e.bytes += node.selfSize;
      self.set(`${fn}@${where}`, e);
      const own = [...frames].reverse().find((f) => /\/(src|bench)\//.test(f.url));
      const caller = own ? `${own.functionName || "(anonymous)"} ${shortUrl(own.url)}:${own.lineNumber + 1}` : "(no lash frame: SDK / node only)";
      byCaller.set(caller, (byCaller.get(caller) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child, frames);
  };
  visit(root, []);
  const mib = (b: number) => b / 1024 / 1024;
  return {
    totalMiB: mib(total),
    categories: [...categories].map(([category, b]) => ({ category, mib: mib(b) })).sort((a, b) => b.mib - a.mib),
    topSelf: [...self.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, top)
      .map((e) => ({ fn: e.fn, where: e.where, mib: mib(e.bytes) })),
    byCaller: [...byCaller]
      .map(([caller, b]) => ({ caller, mib: mib(b) }))
      .sort((a, b) => b.mib - a.mib)
      .slice(0, top),
  };
}
