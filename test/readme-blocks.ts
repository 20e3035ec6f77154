/**
 * Reads the README's fenced blocks with their `<!-- readme-test … -->` and
 * `<!-- readme-output … -->` markers, and matches printed output against an
 * expected block (`…` stands for any text; runs of spaces count as one).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./support/restate-server.ts";

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** Attributes of the `readme-test` marker: `ci`, `background`, `group=x`, `file=x`, `ready="x"`; undefined when unmarked. */
  test: Record<string, string> | undefined;
  /** The expected output that follows (a block marked `readme-output`). */
  output?: { text: string; excerpt: boolean };
}

export function readReadme(): string {
  return readFileSync(join(REPO_ROOT, "README.md"), "utf8");
}

function parseAttributes(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of text.matchAll(/([\w-]+)(?:=("[^"]*"|\S+))?/g)) attrs[m[1]!] = (m[2] ?? "true").replace(/^"|"$/g, "");
  return attrs;
}

export function readmeBlocks(markdown = readReadme()): ReadmeBlock[] {
  const lines = markdown.split("\n");
  const blocks: ReadmeBlock[] = [];
  let pending: { kind: "test" | "output"; attrs: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const marker = /^<!-- readme-(test|output)(?::\s*(.*?))?\s*-->$/.exec(line.trim());
    if (marker) {
      pending = { kind: marker[1] as "test" | "output", attrs: marker[2] ?? "" };
      continue;
    }
    const fence = /^```(\w*)\s*$/.exec(line);
    if (!fence) {
      if (line.trim() !== "") pending = undefined; // a marker applies to the block right after it
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const code = body.join("\n");
    if (pending?.kind === "output") {
      const owner = blocks.at(-1);
      if (owner) owner.output = { text: code, excerpt: pending.attrs.trim() === "excerpt" };
    } else {
      blocks.push({ line: start + 1, lang: fence[1] ?? "", code, test: pending?.kind === "test" ? parseAttributes(pending.attrs) : undefined });
    }
    pending = undefined;
  }
  return blocks;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const normalize = (s: string) =>
  s
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter((l) => l.length > 0)
    .join("\n");

/** Whether `actual` is what `expected` shows: whole output, or (excerpt) somewhere in it. */
export function outputMatches(actual: string, expected: string, excerpt: boolean): boolean {
  const pattern = normalize(expected).split(/ ?… ?/).map(escapeRegExp).join("[\\s\\S]*?");
  return new RegExp(excerpt ? pattern : `^${pattern}$`).test(normalize(actual));
}
