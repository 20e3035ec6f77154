import { MemoryRegistry } from "../src/registry/memory-registry.ts";
import { registryConformance } from "./registry-conformance.ts";

registryConformance("memory", async () => ({ registry: new MemoryRegistry(), cleanup: async () => {} }));
