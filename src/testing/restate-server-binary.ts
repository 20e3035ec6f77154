/**
 * Finds the restate-server executable that `@restatedev/restate-server` installs
 * for this platform: first in the project the command runs in (the user's
 * node_modules), then next to lash-processes itself.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export const RESTATE_SERVER_INSTALL_HINT = "npm i -D @restatedev/restate-server";

/** Path of the restate-server binary, or an Error whose message says how to install it. */
export function restateServerBinary(projectDir: string = process.cwd()): string {
  const pkg = `@restatedev/restate-server-${process.platform}-${process.arch}`;
  const bases = [join(projectDir, "package.json"), import.meta.url];
  for (const base of bases) {
    const dir = resolvePackageDir(base, pkg) ?? viaWrapper(base, pkg);
    if (dir === undefined) continue;
    const bin = join(dir, "bin", "restate-server");
    if (existsSync(bin)) return bin;
  }
  throw new Error(
    `restate-server is not installed in ${projectDir} (looked for ${pkg}); add it with \`${RESTATE_SERVER_INSTALL_HINT}\`, or point RESTATE_ADMIN_URL / RESTATE_INGRESS_URL at a running Restate`,
  );
}

function resolvePackageDir(base: string, pkg: string): string | undefined {
  try {
    return dirname(createRequire(base).resolve(`${pkg}/package.json`));
  } catch {
    return undefined;
  }
}

/** The platform package is an optional dependency of the wrapper; it may sit under the wrapper's own node_modules. */
function viaWrapper(base: string, pkg: string): string | undefined {
  const wrapper = resolvePackageDir(base, "@restatedev/restate-server");
  return wrapper === undefined ? undefined : resolvePackageDir(join(wrapper, "package.json"), pkg);
}
