/**
 * `node --import` this file to print, at exit, every npm package the process loaded
 * (one `LOADED <names>` line on stdout).
 */
import { registerHooks } from "node:module";

const packages = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(resolved.url)?.[1];
    if (name !== undefined) packages.add(name);
    return resolved;
  },
});
process.on("exit", () => console.log(`LOADED ${[...packages].sort().join(" ")}`));
