import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { openRegistry } from "../src/registry/open-registry.ts";
import { registration, rejectsWith } from "./registry-conformance/fixtures.ts";

describe("openRegistry(url)", () => {
  it("memory: opens an inline in-process registry", async () => {
    const registry = await openRegistry("memory:");
    assert.deepEqual([registry.kind, registry.durabilityTier], ["memory", "inline"]);
    await registry.close();
  });

  it("sqlite:<relative path> opens a durable file registry, creating its directories", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lash-open-"));
    try {
      const file = join(dir, "nested", ".lash", "registry.db");
      const registry = await openRegistry(`sqlite:${relative(process.cwd(), file)}`);
      assert.deepEqual([registry.kind, registry.durabilityTier], ["sqlite", "durable"]);
      await registry.register(registration("p-1"));
      await registry.close();
      assert.ok((await stat(file)).isFile());
      const absolute = await openRegistry(`sqlite://${file}`);
      assert.equal((await absolute.get("p-1"))?.id, "p-1");
      await absolute.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("sqlite::memory: opens a private in-memory SQLite database", async () => {
    const registry = await openRegistry("sqlite::memory:");
    assert.equal(registry.kind, "sqlite");
    assert.equal((await registry.register(registration("p-1"))).created, true);
    await registry.close();
  });

  it("postgres:// and postgresql:// load the PostgreSQL adapter on demand", async () => {
    for (const url of ["postgres://user:secret@localhost/db", "postgresql://localhost/db"]) {
      // No server has a database "db": the adapter was loaded and tried it, without echoing the URL.
      await assert.rejects(openRegistry(url), (err: Error) => {
        assert.match(err.message, /cannot open the PostgreSQL registry at localhost:5432\/db/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      });
    }
  });

  it("an unknown scheme, a bare path or an empty sqlite path -> invalid_input on registryUrl, without echoing the URL", async () => {
    for (const url of ["mysql://user:secret@host/db", "./registry.db", "", "sqlite:", "memory:extra"]) {
      const err = await rejectsWith(openRegistry(url), "invalid_input", "registryUrl");
      assert.doesNotMatch(err.message, /secret/);
    }
  });
});
