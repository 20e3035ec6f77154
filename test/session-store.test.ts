import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySessionStore } from "../src/sessions/memory-session-store.ts";
import { openSessionStore } from "../src/sessions/open-session-store.ts";
import { sessionStoreConformance } from "./session-store-conformance.ts";
import { freshSchema } from "./support/pg.ts";

sessionStoreConformance("memory", async () => ({ store: new MemorySessionStore(), cleanup: async () => {} }));

sessionStoreConformance("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lash-sessions-"));
  const store = await openSessionStore(`sqlite:${join(dir, "registry.db")}`);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

sessionStoreConformance("postgres", async () => {
  const schema = await freshSchema();
  const store = await openSessionStore(schema.url());
  return {
    store,
    cleanup: async () => {
      await store.close();
      await schema.drop();
    },
  };
});
