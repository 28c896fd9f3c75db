/**
 * The packages as users get them (issue 21): each workspace packed with the `npm pack` line of its
 * README, installed with the README's `npm install` line into an empty project, and run there
 * against an emulator on 127.0.0.1. The client's install is measured (size, package count, native
 * addons, install scripts) because a service that wants only `AuditLogClient` must not pay for the
 * CLI's DuckDB, Chromium driver and vega. Installs are offline (see offlineInstall.ts): nothing
 * leaves the machine. `npm test` builds the packages before jest runs this.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { type InstallFigures, measureInstall, run, seedProject } from "./offlineInstall.js";

const ROOT = process.cwd();
const LOCK = join(ROOT, "package-lock.json");
const ENTRIES = 1200;
/** Issue 21's bound for the client's install from its tarball into an empty project. */
const LEAN_BYTES = 15_000_000;
const LEAN_PACKAGES = 20;
const OFFLINE = ["--offline", "--no-audit", "--no-fund"];
/** npx too stays off the network (an unknown command would otherwise be looked up in the registry). */
const NPX_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_offline: "true" };

const manifest = (pkg: string): { name: string; version: string; dependencies?: Record<string, string> } =>
  JSON.parse(readFileSync(join(ROOT, "packages", pkg, "package.json"), "utf8"));

/** The `npm …` lines of the ```sh blocks of a package's README (the repository's: ""), comments removed. */
function readmeLines(pkg: string): string[] {
  const readme = readFileSync(join(ROOT, pkg === "" ? "" : `packages/${pkg}`, "README.md"), "utf8");
  return [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) =>
    (m[1] as string)
      .split("\n")
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter((l) => l.startsWith("npm ") || l.startsWith("npx ")),
  );
}

function argsOf(line: string): string[] {
  return line.split(/\s+/).slice(1);
}

/** The one README line of `pkg` that starts with `prefix`. */
function lineOf(pkg: string, prefix: string): string {
  const found = readmeLines(pkg).filter((l) => l.startsWith(prefix));
  expect({ pkg, prefix, found: found.length }).toEqual({ pkg, prefix, found: 1 });
  return found[0] as string;
}

/** The tarballs an install line names. */
function tarballsOf(line: string): string[] {
  return argsOf(line)
    .filter((a) => a.endsWith(".tgz"))
    .map((a) => a.replace(/^\.\//, ""));
}

/**
 * Runs the README line `line` as pasted in `dir` (offline), an empty project the first time, seeded
 * with the lockfile entries the `workspaces` need.
 */
async function installAsPasted(dir: string, line: string, workspaces: string[]): Promise<InstallFigures> {
  if (!existsSync(join(dir, "package.json"))) seedProject(dir, LOCK, workspaces);
  for (const tgz of tarballsOf(line)) copyFileSync(join(packs, tgz), join(dir, tgz));
  await run("npm", [...argsOf(line), ...OFFLINE], { cwd: dir });
  return measureInstall(dir);
}

function describeFigures(what: string, f: InstallFigures): string {
  return `${what}: ${f.packages} packages, ${(f.bytes / 1e6).toFixed(1)} MB (sum of file sizes), native addons: ${f.addons.join(", ") || "none"}, install scripts: ${f.installScripts.join(", ") || "none"}`;
}

/** The file `npm pack` writes for a package. */
function tarballName(m: { name: string; version: string }): string {
  return `${m.name.replace(/^@/, "").replace("/", "-")}-${m.version}.tgz`;
}

it("names in every README install line the tarballs of the sibling packages its tarballs depend on (they are not on the registry)", () => {
  const byTarball = new Map(
    ["client", "emulator", "cli"].map((pkg) => [tarballName(manifest(pkg)), manifest(pkg)]),
  );
  const siblings = new Map([...byTarball].map(([tgz, m]) => [m.name, tgz]));
  const lines = ["", "client", "emulator", "cli"].flatMap((pkg) =>
    readmeLines(pkg).filter((l) => l.startsWith("npm install") && l.includes(".tgz")),
  );
  expect(lines.length).toBeGreaterThanOrEqual(4);
  for (const line of lines) {
    const named = new Set(tarballsOf(line));
    const missing = [...named].flatMap((tgz) =>
      Object.keys(byTarball.get(tgz)?.dependencies ?? {})
        .map((dep) => siblings.get(dep))
        .filter((need): need is string => need !== undefined && !named.has(need)),
    );
    expect({ line, missing }).toEqual({ line, missing: [] });
  }
});

let work: string;
let packs: string;
let emulator: EmulatorHandle;
let client: InstallFigures | undefined;
const started = Date.now();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "clarifai-audit-tarballs-"));
  packs = join(work, "packs");
  mkdirSync(packs);
  // The CLI's README packs all three; the client's and the emulator's name their own tarballs.
  const packAll = lineOf("cli", "npm pack");
  await run("npm", [...argsOf(packAll), "--pack-destination", packs], { cwd: ROOT });
  await Promise.all(
    ["client", "emulator"].map(async (pkg) => {
      const pack = [...argsOf(lineOf(pkg, "npm pack")), "--dry-run", "--json"];
      const { stdout } = await run("npm", pack, { cwd: ROOT });
      const named = (JSON.parse(stdout) as { filename: string }[]).map((p) => p.filename);
      expect(named).toEqual(tarballsOf(lineOf(pkg, "npm install")));
      for (const tgz of named) expect(existsSync(join(packs, tgz))).toBe(true);
    }),
  );
  // The repository's README installs the same tarballs (the packages' READMEs' lines run below).
  const rootTarballs = readmeLines("")
    .filter((l) => l.startsWith("npm install"))
    .flatMap(tarballsOf);
  expect(rootTarballs.filter((tgz) => !existsSync(join(packs, tgz)))).toEqual([]);
  emulator = await startEmulator({
    host: "127.0.0.1",
    generate: { count: ENTRIES, seed: 7 },
    restPort: false,
  });
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  process.stdout.write(`tarball tests took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

const USE_CLIENT = `
import { AuditLogClient } from "@clarifai-audit/client";
import { exportToSink } from "@clarifai-audit/client/export";

const client = new AuditLogClient({
  endpoint: process.env.EMULATOR, insecure: true, pat: "emulator-pat", userId: "emulator-user",
});
const page = await client.search({ perPage: 7 });
const lines = [];
let cursor;
const sink = {
  async open() { return cursor; },
  async write(batch) { lines.push(...batch.entries.map((e) => e.json())); cursor = batch.cursor; },
  async close() {},
};
const summary = await exportToSink({ client, sink, settleMs: 0, perPage: 250 });
client.close();
console.log(JSON.stringify({
  page: page.entries.length, exported: summary.entries, lines: lines.length,
  unique: new Set(lines).size, complete: cursor.complete,
}));
`;

it("installs the client's tarball into an empty project, without the CLI's dependencies or a native addon, and searches and exports there", async () => {
  const dir = join(work, "client");
  mkdirSync(dir);
  client = await installAsPasted(dir, lineOf("client", "npm install"), ["packages/client"]);
  process.stdout.write(`${describeFigures("@clarifai-audit/client install", client)}\n`);
  expect(client.addons).toEqual([]);
  for (const heavy of ["@duckdb/node-api", "pg", "puppeteer-core", "vega", "clarifai-audit"]) {
    expect({ heavy, installed: existsSync(join(dir, "node_modules", heavy)) }).toEqual({
      heavy,
      installed: false,
    });
  }
  writeFileSync(join(dir, "use.mjs"), USE_CLIENT);
  const { stdout } = await run(process.execPath, ["use.mjs"], {
    cwd: dir,
    env: { PATH: process.env.PATH, EMULATOR: emulator.grpcAddress },
  });
  expect(JSON.parse(stdout)).toEqual({
    page: 7,
    exported: ENTRIES,
    lines: ENTRIES,
    unique: ENTRIES,
    complete: true,
  });
}, 120_000);

// With @grpc/grpc-js the client's install was ~17 MB in 41 packages (its proto-loader brings
// protobufjs, with a postinstall script, and yargs): the client speaks HTTP/2 itself instead.
it(`keeps the client's install within ${LEAN_BYTES / 1e6} MB and ${LEAN_PACKAGES} packages, with no install script`, () => {
  expect(client).toBeDefined();
  const f = client as InstallFigures;
  expect({ bytes: f.bytes, within: f.bytes <= LEAN_BYTES }).toEqual({ bytes: f.bytes, within: true });
  expect({ packages: f.packages, within: f.packages <= LEAN_PACKAGES }).toEqual({
    packages: f.packages,
    within: true,
  });
  expect(f.installScripts).toEqual([]);
});

it("installs the CLI's tarball with the client's and the emulator's, runs `npx clarifai-audit` against the emulator, and keeps the single package's imports working", async () => {
  const dir = join(work, "cli");
  mkdirSync(dir);
  const all = ["packages/client", "packages/emulator", "packages/cli"];
  const figures = await installAsPasted(dir, lineOf("cli", "npm install"), all);
  process.stdout.write(`${describeFigures("clarifai-audit (CLI) install", figures)}\n`);
  // The emulator's README line, as pasted, in the same project (its tarballs are a subset).
  await installAsPasted(dir, lineOf("emulator", "npm install"), all);

  const env = { ...NPX_ENV, CLARIFAI_PAT: "emulator-pat", CLARIFAI_USER_ID: "emulator-user" };
  const version = await run("npx", argsOf(lineOf("cli", "npx clarifai-audit --version")), { cwd: dir, env });
  expect(version.stdout.trim()).toBe(manifest("cli").version);
  const search = await run(
    "npx",
    ["clarifai-audit", "search", "--endpoint", emulator.grpcAddress, "--insecure", "--per-page", "5"],
    { cwd: dir, env: { ...env, NO_COLOR: "1" } },
  );
  const rows = search.stdout.trim().split("\n");
  expect(rows).toHaveLength(5);
  const ids = new Set(rows.map((r) => (JSON.parse(r) as { req_id: string }).req_id));
  expect([...ids].filter((id) => /^\S+$/.test(id))).toHaveLength(5);

  writeFileSync(
    join(dir, "compat.mjs"),
    `import { AuditLogClient } from "clarifai-audit";
import { exportToSink } from "clarifai-audit/export";
import { startEmulator } from "clarifai-audit/emulator";
import * as client from "@clarifai-audit/client";
import * as emulator from "@clarifai-audit/emulator";
console.log(JSON.stringify([
  AuditLogClient === client.AuditLogClient, typeof exportToSink, startEmulator === emulator.startEmulator,
]));
`,
  );
  const compat = await run(process.execPath, ["compat.mjs"], { cwd: dir, env });
  expect(JSON.parse(compat.stdout)).toEqual([true, "function", true]);
}, 120_000);
