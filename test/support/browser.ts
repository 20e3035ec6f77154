/**
 * A real headless Chromium (Debian's `chromium` package) driven by playwright-core,
 * with a fresh profile in a temp dir; `close()` stops it and removes the profile.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Path of the chromium executable, or a message saying how to install it. */
export function chromiumBinary(): string {
  for (const candidate of [process.env.CHROMIUM_PATH, "chromium", "/usr/bin/chromium", "chromium-browser"]) {
    if (!candidate) continue;
    const probe = spawnSync(candidate, ["--version"], { encoding: "utf8", timeout: 30_000 });
    if (probe.status === 0)
      return candidate.includes("/") ? candidate : spawnSync("sh", ["-c", `command -v ${candidate}`], { encoding: "utf8" }).stdout.trim() || candidate;
  }
  throw new Error("chromium not found: the console tests drive a real browser (Debian/Ubuntu: apt-get install -y chromium; .ci/run installs it)");
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<Browser> {
  const executablePath = chromiumBinary();
  const profile = await mkdtemp(join(tmpdir(), "lash-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
