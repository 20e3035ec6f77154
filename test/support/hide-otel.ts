/**
 * Loaded with `node --import` (via NODE_OPTIONS) into an endpoint child process:
 * every `@opentelemetry/*` import fails as if the optional packages were not
 * installed (`npm install --omit=optional`), so a test can show that nothing breaks
 * without them. `@opentelemetry/api` stays: prom-client depends on it, so it is
 * installed either way.
 */
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith("@opentelemetry/") && specifier !== "@opentelemetry/api") {
      throw Object.assign(new Error(`Cannot find package '${specifier}' (hidden by test/support/hide-otel.ts)`), { code: "ERR_MODULE_NOT_FOUND" });
    }
    return nextResolve(specifier, context);
  },
});
