// Type-aware lint for the whole tree. Formatting is Prettier's job (`npm run lint`
// runs `prettier --check` after this); eslint-config-prettier turns off the rules
// that would fight it.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // examples/ is a consumer project of its own (it imports the built package); test/package.test.ts
  // type-checks it against the packed tarball, so it is not linted against the sources here.
  { ignores: ["dist/", "node_modules/", "bench/results/", "bench/.build/", "examples/"] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    settings: { "import-x/extensions": [".ts", ".js"] },
    rules: {
      // A forgotten await in a durable body is a replay bug: await it or `void` it on purpose.
      "@typescript-eslint/no-floating-promises": [
        "error",
        // node:test's describe/it/test return promises the runner itself tracks (its docs say to ignore them).
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Off on purpose: an `async` method without `await` is how a port method implemented
      // synchronously (the memory and node:sqlite registries, a tool body) turns a throw into a
      // rejection, as the port's callers expect.
      "@typescript-eslint/require-await": "off",
      // No import cycles anywhere in the tree.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    // Tests read JSON answer bodies field by field and assert on every value they use;
    // typing each body would restate the wire schemas. The promise rules stay on.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    files: ["**/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
);
