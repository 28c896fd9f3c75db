/**
 * Bundles the built CLI (packages/cli/dist/src/cli/main.js and everything it imports, the client's
 * and the emulator's modules included) into the CLI package's bin,
 * packages/cli/dist/src/cli/clarifai-audit.mjs, plus chunks it loads on demand. Loading ~130 ES
 * modules one by one is most of what an export spends before its first request (0.24 s → 0.17 s for `export`
 * up to its first request). Subcommands stay lazy: with code splitting, what an `await import()`
 * reaches is a chunk loaded on first use.
 *
 * The bundle sits next to main.js, so main.js's relative path to package.json holds for both.
 */
import { chmodSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

// Run by the CLI package's build (cwd packages/cli) or from anywhere else: paths are the package's.
const outdir = fileURLToPath(new URL("../packages/cli/dist/src/cli", import.meta.url));
// Chunk names carry content hashes: clear the previous build's.
rmSync(`${outdir}/chunks`, { recursive: true, force: true });
await build({
  entryPoints: { "clarifai-audit": `${outdir}/main.js` },
  outdir,
  outExtension: { ".js": ".mjs" },
  // Each subcommand's code in its own chunk, loaded when the subcommand runs.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // A native addon (DuckDB's binary): loaded from node_modules at run time, never bundled. Its
  // JavaScript API (@duckdb/node-api, ~100 CommonJS files) is bundled into the lake's chunks: imported
  // from node_modules, Node's loader lexed every file for its exports, ~1 s of a 1.6 s `query` at 1M.
  // Loaded from node_modules when `report` runs: vega's and puppeteer's module graphs are large, use
  // dynamic requires and data files, and only one command needs them.
  external: ["@duckdb/node-bindings", "vega", "vega-lite", "puppeteer-core"],
  // grpc-js and other CommonJS dependencies call require() for Node's built-ins; an ES module
  // has no require of its own.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module";\nconst require = __createRequire(import.meta.url);',
  },
});
// npx and npm's bin links run the file through its shebang. main.js stays runnable the same way
// (it was the bin before the bundle, and links made then still point at it).
chmodSync(`${outdir}/clarifai-audit.mjs`, 0o755);
chmodSync(`${outdir}/main.js`, 0o755);
