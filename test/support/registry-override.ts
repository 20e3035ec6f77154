import type { ProcessRegistry } from "../../src/registry/port.ts";

/**
 * `registry` with one method replaced, for tests that delay or fail a call: `replacement`
 * gets the real registry to call through. Every other member is the registry's own, bound to
 * it (an adapter's private fields need the real `this`).
 */
export function overrideMethod<K extends keyof ProcessRegistry>(
  registry: ProcessRegistry,
  method: K,
  replacement: (inner: ProcessRegistry) => ProcessRegistry[K],
): ProcessRegistry {
  const replaced = replacement(registry);
  return new Proxy(registry, {
    get(target, prop) {
      if (prop === method) return replaced;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
