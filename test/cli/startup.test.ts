/**
 * What the built CLI loads: `--version`, `--help` and usage errors load neither the client (grpc-js),
 * the descriptor runtime (@bufbuild/protobuf), the exporter nor the emulator; search, export and
 * tail never load the emulator; only watch and rules load yaml, ajv and src/watch. A module-load hook in the child logs every module it loads. It runs
 * the CLI as tsc emits it, one module per source file; the bin is the same graph bundled with code
 * splitting (scripts/bundle-cli.mjs), so what stays unloaded here stays an unloaded chunk there.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { MAX_PER_PAGE as CLI_MAX_PER_PAGE } from "../../packages/client/src/domain/limits.js";
import {
  type EmulatorHandle,
  generateEntries,
  MAX_PER_PAGE,
  startEmulator,
} from "../../packages/emulator/src/index.js";
import { CLI_MODULES, type CliResult, cliEnv, collect, connection, PAT, USER } from "./helpers.js";

const HOOKS = `import { appendFileSync } from "node:fs";
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, nextLoad) {
  appendFileSync(log, url + "\\n");
  return nextLoad(url, context);
}
`;

let dir: string;
let emu: EmulatorHandle;
let conn: string[];
let runs = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "clarifai-audit-startup-"));
  writeFileSync(join(dir, "hooks.mjs"), HOOKS);
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(50, 3), restPort: false });
  conn = connection(emu.grpcAddress);
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with the hook; returns its result and the package-relative paths of what it loaded. */
async function runLogged(
  args: string[],
): Promise<CliResult & { loaded: string[]; duckdb: boolean; urls: string[] }> {
  const log = join(dir, `load-${++runs}.log`);
  writeFileSync(log, "");
  const register = join(dir, `register-${runs}.mjs`);
  writeFileSync(
    register,
    `import { register } from "node:module";
register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)}, { data: { log: ${JSON.stringify(log)} } });
`,
  );
  const child = spawn(process.execPath, ["--import", pathToFileURL(register).href, CLI_MODULES, ...args], {
    env: cliEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = await collect(child);
  const root = pathToFileURL(process.cwd()).href;
  const urls = readFileSync(log, "utf8").split("\n");
  // node_modules may be a symlink out of the tree (a git worktree sharing one install).
  const loaded = urls
    .map((url) => {
      const nm = url.indexOf("/node_modules/");
      if (nm >= 0) return url.slice(nm + 1);
      return url.startsWith(root) ? url.slice(root.length + 1) : "";
    })
    .filter((path) => path !== "");
  return { ...result, loaded, urls, duckdb: urls.some((url) => DUCKDB.test(url)) };
}

const HEAVY = [
  /^node_modules\/@grpc\//,
  /^node_modules\/@bufbuild\//,
  /^dist\/generated\//,
  /^dist\/src\/client\/client\.js$/,
  /^dist\/src\/cli\/exitCodes\.js$/,
  /^dist\/src\/export\//,
];
const EMULATOR = /^dist\/src\/emulator\/(?!command\.js$)/;
/** DuckDB (a native addon of ~60 MB): only `sync` to a lake and `query` load it. */
const DUCKDB = /\/node_modules\/@duckdb\//;
/** What only watch and rules load: the YAML parser, the JSON Schema validator and src/watch. */
const RULES_DEPS = [/^node_modules\/yaml\//, /^node_modules\/ajv\//, /^dist\/src\/watch\//];
// Matched on the whole URL: node_modules may be a symlink that resolves outside the package.
const CHARTS_AND_BROWSER = /\/node_modules\/(vega[^/]*|puppeteer-core)\//;
const BROWSER = /\/node_modules\/puppeteer-core\//;

function matching(loaded: string[], patterns: RegExp[]): string[] {
  return loaded.filter((path) => patterns.some((p) => p.test(path)));
}

it("the CLI's page size limit is the client's", () => {
  expect(CLI_MAX_PER_PAGE).toBe(MAX_PER_PAGE);
});

describe("help and version load only the command definitions", () => {
  it.each([
    [["--version"]],
    [["--help"]],
    [["search", "--help"]],
    [["export", "--help"]],
    [["tail", "--help"]],
    [["report", "--help"]],
    [["emulator", "--help"]],
    [["sync", "--help"]],
    [["query", "--help"]],
    [["watch", "--help"]],
    [["rules", "--help"]],
    [["rules", "test", "--help"]],
  ])("%j", async (args) => {
    const r = await runLogged(args);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toBe("");
    // The hook works: the CLI's own entry point is in the log.
    expect(r.loaded).toContain("packages/cli/dist/src/cli/main.js");
    expect(r.duckdb).toBe(false);
    expect(matching(r.loaded, [...HEAVY, EMULATOR, ...RULES_DEPS])).toEqual([]);
    expect(r.urls.filter((url) => CHARTS_AND_BROWSER.test(url))).toEqual([]);
  });
});

it("a bad flag value is reported (exit 2) without loading the emulator", async () => {
  const r = await runLogged(["search", "--per-page", "0"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    "clarifai-audit: error: option '--per-page <n>' argument '0' is invalid. --per-page: \"0\" is not an integer from 1 to 1000\n",
  );
  expect(matching(r.loaded, [EMULATOR])).toEqual([]);
});

describe("client commands load their implementation, never the emulator", () => {
  it("search", async () => {
    const r = await runLogged(["search", ...conn, "--per-page", "5"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(5);
    expect(r.loaded).toContain("packages/cli/dist/src/cli/searchCommand.js");
    expect(r.loaded).not.toContain("packages/cli/dist/src/cli/exportCommand.js");
    expect(r.loaded).not.toContain("packages/cli/dist/src/cli/tailCommand.js");
    // The error reporting knows the exporter's errors without loading the exporter.
    expect(r.loaded).not.toContain("packages/client/dist/src/export/exporter.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
    expect(r.duckdb).toBe(false);
    expect(r.urls.filter((url) => CHARTS_AND_BROWSER.test(url))).toEqual([]);
  });
  it("tail", async () => {
    const r = await runLogged(["tail", ...conn, "--from", "2000-01-01T00:00:00Z", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(50);
    expect(r.loaded).toContain("packages/cli/dist/src/cli/tailCommand.js");
    expect(r.loaded).not.toContain("packages/cli/dist/src/cli/exportCommand.js");
    expect(r.loaded).not.toContain("packages/client/dist/src/export/exporter.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
    expect(r.duckdb).toBe(false);
    expect(r.urls.filter((url) => CHARTS_AND_BROWSER.test(url))).toEqual([]);
  });
  it("export", async () => {
    const out = join(dir, "out.jsonl");
    const r = await runLogged(["export", ...conn, "--out", out, "--settle", "0", "--quiet"]);
    expect(r.code).toBe(0);
    // --quiet: only errors and warnings (the summary is --json's).
    expect(r.stderr).toBe("");
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(50);
    expect(r.loaded).toContain("packages/cli/dist/src/cli/exportCommand.js");
    expect(r.loaded).not.toContain("packages/cli/dist/src/cli/searchCommand.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
    expect(r.duckdb).toBe(false);
  });
  it("sync to a lake and query load DuckDB (and sync never pg)", async () => {
    const lake = join(dir, "lake");
    const r = await runLogged(["sync", ...conn, "--dest", lake, "--settle", "0s", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.duckdb).toBe(true);
    expect(r.stdout).toBe("");
    const q = await runLogged([
      "query",
      "--lake",
      lake,
      "SELECT count(*) AS n FROM audit_log",
      "--format",
      "csv",
    ]);
    expect(q.stdout).toBe("n\n50\n");
    expect(q.duckdb).toBe(true);
    expect(q.loaded).not.toContain("packages/client/dist/src/client/client.js");
    const rep = await runLogged([
      "report",
      "--lake",
      lake,
      "--out",
      join(dir, "lake-report.html"),
      "--quiet",
    ]);
    expect([rep.code, rep.stderr]).toEqual([0, ""]);
    expect(rep.duckdb).toBe(true);
    expect(rep.loaded).toContain("packages/cli/dist/src/report/lakeInput.js");
    expect(rep.loaded).not.toContain("packages/client/dist/src/client/client.js");
  });
  it("search, tail and export never load yaml, ajv or the watch modules", async () => {
    for (const args of [
      ["search", ...conn, "--per-page", "1"],
      ["tail", ...conn, "--since", "1m", "--quiet"],
    ]) {
      const r = await runLogged(args);
      expect(r.code).toBe(0);
      expect(matching(r.loaded, RULES_DEPS)).toEqual([]);
    }
  });
  it("rules check loads yaml, ajv and its own module, never the emulator or the exporter", async () => {
    const r = await runLogged(["rules", "check", "builtin"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.loaded).toContain("packages/cli/dist/src/cli/rulesCommand.js");
    expect(r.loaded).not.toContain("packages/cli/dist/src/cli/watchCommand.js");
    expect(r.loaded.some((p) => /^node_modules\/yaml\//.test(p))).toBe(true);
    expect(r.loaded.some((p) => /^node_modules\/ajv\//.test(p))).toBe(true);
    expect(r.loaded).not.toContain("packages/client/dist/src/export/exporter.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
  });
  it("watch loads its implementation, never the emulator or the exporter", async () => {
    const r = await runLogged(["watch", ...conn, "--rules", "builtin", "--once", "--quiet"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.loaded).toContain("packages/cli/dist/src/cli/watchCommand.js");
    expect(r.loaded).not.toContain("packages/cli/dist/src/cli/rulesCommand.js");
    expect(r.loaded).not.toContain("packages/client/dist/src/export/exporter.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
  });
});

it("the library's main entry loads neither DuckDB nor the sync code", async () => {
  const log = join(dir, "index-load.log");
  writeFileSync(log, "");
  const register = join(dir, "register-index.mjs");
  writeFileSync(
    register,
    `import { register } from "node:module";
register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)}, { data: { log: ${JSON.stringify(log)} } });
`,
  );
  const child = spawn(
    process.execPath,
    [
      "--import",
      pathToFileURL(register).href,
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(pathToFileURL(join(process.cwd(), "packages/client/dist/src/index.js")).href)})`,
    ],
    { env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  const r = await collect(child);
  expect(r.code).toBe(0);
  const root = pathToFileURL(process.cwd()).href;
  const urls = readFileSync(log, "utf8").split("\n");
  const loaded = urls.filter((url) => url.startsWith(root)).map((url) => url.slice(root.length + 1));
  expect(loaded).toContain("packages/client/dist/src/index.js");
  expect(matching(loaded, [/^dist\/src\/sync\//])).toEqual([]);
  expect(urls.some((url) => DUCKDB.test(url))).toBe(false);
});

it("report loads vega and vega-lite, and puppeteer-core only for --pdf", async () => {
  const input = join(dir, "report-input.jsonl");
  writeFileSync(input, `${generateEntries(20, 5).map(entryToJsonLine).join("\n")}\n`);
  const r = await runLogged(["report", "--input", input, "--out", join(dir, "report.html"), "--quiet"]);
  expect(r.stderr).toBe("");
  expect(r.loaded).toContain("packages/cli/dist/src/cli/reportCommand.js");
  expect(r.urls.some((url) => /\/node_modules\/vega\//.test(url))).toBe(true);
  expect(r.urls.some((url) => /\/node_modules\/vega-lite\//.test(url))).toBe(true);
  expect(r.urls.filter((url) => BROWSER.test(url))).toEqual([]);
  expect(r.loaded).not.toContain("packages/cli/dist/src/report/pdf.js");
  expect(r.loaded).not.toContain("packages/cli/dist/src/cli/exportCommand.js");
  expect(r.loaded).not.toContain("packages/cli/dist/src/report/lakeInput.js");
  expect(matching(r.loaded, [EMULATOR])).toEqual([]);
  expect(r.duckdb).toBe(false);
});
