/**
 * What the built CLI loads: `--version`, `--help` and usage errors load neither the client (grpc-js),
 * the descriptor runtime (@bufbuild/protobuf), the exporter nor the emulator; search, export and
 * tail never load the emulator. A module-load hook in the child logs every module it loads. It runs
 * the CLI as tsc emits it, one module per source file; the bin is the same graph bundled with code
 * splitting (scripts/bundle-cli.mjs), so what stays unloaded here stays an unloaded chunk there.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MAX_PER_PAGE as CLI_MAX_PER_PAGE } from "../../src/domain/limits.js";
import {
  type EmulatorHandle,
  generateEntries,
  MAX_PER_PAGE,
  startEmulator,
} from "../../src/emulator/index.js";
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
async function runLogged(args: string[]): Promise<CliResult & { loaded: string[] }> {
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
  const loaded = readFileSync(log, "utf8")
    .split("\n")
    .filter((url) => url.startsWith(root))
    .map((url) => url.slice(root.length + 1));
  return { ...result, loaded };
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
    [["emulator", "--help"]],
  ])("%j", async (args) => {
    const r = await runLogged(args);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toBe("");
    // The hook works: the CLI's own entry point is in the log.
    expect(r.loaded).toContain("dist/src/cli/main.js");
    expect(matching(r.loaded, [...HEAVY, EMULATOR])).toEqual([]);
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
    expect(r.loaded).toContain("dist/src/cli/searchCommand.js");
    expect(r.loaded).not.toContain("dist/src/cli/exportCommand.js");
    expect(r.loaded).not.toContain("dist/src/cli/tailCommand.js");
    // The error reporting knows the exporter's errors without loading the exporter.
    expect(r.loaded).not.toContain("dist/src/export/exporter.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
  });
  it("tail", async () => {
    const r = await runLogged(["tail", ...conn, "--from", "2000-01-01T00:00:00Z", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(50);
    expect(r.loaded).toContain("dist/src/cli/tailCommand.js");
    expect(r.loaded).not.toContain("dist/src/cli/exportCommand.js");
    expect(r.loaded).not.toContain("dist/src/export/exporter.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
  });
  it("export", async () => {
    const out = join(dir, "out.jsonl");
    const r = await runLogged(["export", ...conn, "--out", out, "--settle", "0", "--quiet"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^exported 50 entries /);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(50);
    expect(r.loaded).toContain("dist/src/cli/exportCommand.js");
    expect(r.loaded).not.toContain("dist/src/cli/searchCommand.js");
    expect(matching(r.loaded, [EMULATOR])).toEqual([]);
  });
});
