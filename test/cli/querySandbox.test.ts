/**
 * `query` is sandboxed for real: on a lake synced by the built CLI from the emulator, statements that
 * would write (COPY, EXPLAIN ANALYZE COPY, EXPORT, ATTACH, CREATE, INSTALL/LOAD), read outside the
 * lake's listed files (/etc/passwd, the state file, globs), change the session (SET, RESET, PRAGMA,
 * enable_logging) or run more than one statement are refused with one line and exit 2, and nothing
 * changes in the lake or the working directory. DuckDB's own sandbox is also checked alone (without
 * the statement check), and the time and memory limits stop a statement with one line naming the
 * flag. Output streams: a `| head -1` ends quietly with exit 0, and the formats keep their text.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { openSandbox } from "../../packages/cli/src/sync/lake/reader.js";
import {
  collect,
  type GeneratedEmulator,
  runCli,
  snapshot,
  spawnCli,
  startGeneratedEmulator,
} from "./helpers.js";

let generated: GeneratedEmulator;
let lake: string;
let state: string;
let files: string[];
let cwd: string;

beforeAll(async () => {
  generated = await startGeneratedEmulator(300, 41);
  lake = join(generated.tmp.dir, "lake");
  state = join(lake, "_clarifai_sync.json");
  const s = await runCli(["sync", ...generated.conn, "--dest", lake, "--settle", "0s", "-q"]);
  expect([s.code, s.stderr]).toEqual([0, ""]);
  const manifest = JSON.parse(readFileSync(state, "utf8")) as { files: { path: string }[] };
  files = manifest.files.map((f) => join(lake, f.path));
  expect(files.length).toBeGreaterThan(0);
  cwd = join(generated.tmp.dir, "cwd");
  mkdirSync(cwd);
});
afterAll(async () => {
  await generated?.close();
});

function query(sql: string, ...flags: string[]) {
  return runCli(["query", "--lake", lake, sql, ...flags], undefined, cwd);
}

/** The first listed data file: the one path DuckDB may open at all. */
const data = () => files[0] as string;

describe("refused: one line, exit 2, nothing written in the lake or the working directory", () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ["COPY into the lake", () => `COPY (SELECT 1 AS x) TO '${join(lake, "x.csv")}'`, /this one is COPY/],
    [
      "COPY over the state file",
      () => `COPY (SELECT 1 AS x) TO '${state}' (FORMAT csv, USE_TMP_FILE false)`,
      /this one is COPY/,
    ],
    [
      "COPY over a listed data file",
      () => `COPY (SELECT 1 AS x) TO '${data()}' (FORMAT csv, USE_TMP_FILE false)`,
      /this one is COPY/,
    ],
    [
      "EXPLAIN ANALYZE COPY into the lake",
      () => `EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '${join(lake, "x.csv")}'`,
      /only read-only statements/,
    ],
    [
      "EXPLAIN ANALYZE COPY over the state file",
      () => `EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '${state}' (FORMAT csv, USE_TMP_FILE false)`,
      /only read-only statements/,
    ],
    [
      "EXPLAIN ANALYZE COPY over a listed data file",
      () => `EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '${data()}' (FORMAT csv, USE_TMP_FILE false)`,
      /only read-only statements/,
    ],
    [
      "EXPLAIN (ANALYZE) COPY",
      () => `EXPLAIN (ANALYZE) COPY (SELECT 1 AS x) TO '${data()}' (FORMAT csv, USE_TMP_FILE false)`,
      /only read-only statements/,
    ],
    [
      "a comment, then EXPLAIN ANALYZE COPY",
      () => `/* x */ EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '${data()}' (FORMAT csv, USE_TMP_FILE false)`,
      /only read-only statements/,
    ],
    ["EXPORT DATABASE", () => `EXPORT DATABASE '${join(lake, "exp")}'`, /this one is EXPORT/],
    ["ATTACH a new file", () => `ATTACH '${join(lake, "a.duckdb")}' AS a`, /this one is ATTACH/],
    ["INSTALL", () => "INSTALL httpfs", /this one is INSTALL/],
    ["LOAD", () => "LOAD httpfs", /this one is LOAD/],
    ["CREATE TABLE", () => "CREATE TABLE t AS SELECT * FROM range(10)", /this one is CREATE/],
    ["CREATE MACRO", () => "CREATE MACRO m(x) AS TABLE SELECT * FROM read_text(x)", /this one is CREATE/],
    ["INSERT", () => "INSERT INTO audit_log SELECT * FROM audit_log", /this one is INSERT/],
    ["SET enable_external_access", () => "SET enable_external_access = true", /this one is SET/],
    ["SET memory_limit", () => "SET memory_limit = '100GB'", /this one is SET/],
    ["SET temp_directory", () => `SET temp_directory = '${lake}'`, /this one is SET/],
    ["RESET", () => "RESET lock_configuration", /this one is RESET/],
    ["PRAGMA", () => "PRAGMA enable_profiling", /this one is PRAGMA/],
    [
      "CALL enable_logging",
      () => `CALL enable_logging(storage='file', storage_path='${lake}')`,
      /this one is CALL/,
    ],
    [
      "SELECT FROM enable_logging (acts when bound)",
      () => "SELECT * FROM system.main.enable_logging(storage='file')",
      /table function enable_logging\(\) is not allowed/,
    ],
    [
      "enable_profiling with a save location",
      () => `SELECT * FROM enable_profiling(save_location='${join(lake, "p.json")}')`,
      /enable_profiling\(\) is not allowed/,
    ],
    ["query() hides its SQL", () => "SELECT * FROM query('SELECT 1')", /query\(\) is not allowed/],
    ["read_csv /etc/passwd", () => "SELECT * FROM read_csv('/etc/passwd')", /read_csv\(\) is not allowed/],
    [
      "read_text of the state file",
      () => `SELECT * FROM read_text('${state}')`,
      /read_text\(\) is not allowed/,
    ],
    [
      "read_blob of a data file",
      () => `SELECT * FROM read_blob('${data()}')`,
      /read_blob\(\) is not allowed/,
    ],
    ["glob over the lake", () => `SELECT * FROM glob('${lake}/*')`, /glob\(\) is not allowed/],
    [
      "a file named in FROM: /etc/passwd",
      () => "SELECT * FROM '/etc/passwd'",
      /Catalog Error|Permission Error/,
    ],
    ["a CSV file named in FROM", () => `SELECT * FROM '${join(lake, "x.csv")}'`, /Permission Error/],
    ["a file named in FROM: the state file", () => `SELECT * FROM '${state}'`, /Permission Error/],
    [
      "read_parquet with a glob, in a CTE",
      () => `WITH t AS (SELECT * FROM read_parquet('${lake}/audit_log/*/*.parquet')) SELECT count(*) FROM t`,
      /read_parquet\(\) is not allowed/,
    ],
    ["write_log", () => "SELECT write_log('x')", /write_log\(\) is not allowed/],
    ["two statements", () => "SELECT 1; COPY (SELECT 1) TO 'x.csv'", /exactly one SQL statement \(got 2\)/],
  ];
  it.each(cases)("%s", async (_name, sql, message) => {
    const before = snapshot(lake);
    const r = await query(sql());
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(/^clarifai-audit: error: query: [^\n]+\n$/);
    expect(r.stderr).toMatch(message);
    expect(snapshot(lake)).toBe(before);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("DuckDB's own sandbox, without the statement check", () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  beforeAll(async () => {
    ({ instance, db } = await openSandbox(files, { memoryLimit: "256MB", threads: 1 }));
  });
  afterAll(() => {
    db.closeSync();
    instance.closeSync();
  });
  it("reads the view", async () => {
    const r = await db.runAndReadAll("SELECT count(*) FROM audit_log");
    expect(r.getRowsJson()).toEqual([["300"]]);
  });
  it.each<[string, () => string, RegExp]>([
    ["COPY into the lake", () => `COPY (SELECT 1) TO '${join(lake, "x.csv")}'`, /Permission Error/],
    ["COPY into the cwd", () => "COPY (SELECT 1) TO 'x.csv'", /Permission Error/],
    [
      "EXPLAIN ANALYZE COPY over the state file",
      () => `EXPLAIN ANALYZE COPY (SELECT 1) TO '${state}' (FORMAT csv, USE_TMP_FILE false)`,
      /Permission Error/,
    ],
    ["EXPORT DATABASE", () => `EXPORT DATABASE '${join(lake, "exp")}'`, /Permission Error/],
    ["ATTACH", () => `ATTACH '${join(lake, "a.duckdb")}' AS a`, /Permission Error/],
    ["read_text /etc/passwd", () => "SELECT * FROM read_text('/etc/passwd')", /Permission Error/],
    ["read_text of the state file", () => `SELECT * FROM read_text('${state}')`, /Permission Error/],
    ["glob over the lake", () => `SELECT * FROM glob('${lake}/*')`, /Permission Error/],
    ["INSTALL", () => "INSTALL httpfs", /Permission Error|disabled/],
    ["LOAD", () => "LOAD httpfs", /Permission Error|disabled|not found|autoload/i],
    [
      "SET enable_external_access",
      () => "SET enable_external_access = true",
      /configuration has been locked/,
    ],
    ["RESET lock_configuration", () => "RESET lock_configuration", /configuration has been locked/],
    ["SET lock_configuration", () => "SET lock_configuration = false", /configuration has been locked/],
    ["SET temp_directory", () => `SET temp_directory = '${lake}'`, /configuration has been locked/],
    ["SET memory_limit", () => "SET memory_limit = '100GB'", /configuration has been locked/],
    ["SET allowed_directories", () => "SET allowed_directories = ['/']", /configuration has been locked/],
  ])("%s", async (_name, sql, message) => {
    const before = snapshot(lake);
    await expect(db.run(sql())).rejects.toThrow(message);
    expect(snapshot(lake)).toBe(before);
  });
  it("has no temp folder: a statement that outgrows memory fails instead of spilling", async () => {
    const r = await db.runAndReadAll(
      "SELECT current_setting('temp_directory'), current_setting('memory_limit'), current_setting('threads'), current_setting('autoload_known_extensions'), current_setting('enable_external_access')",
    );
    expect(r.getRowsJson()).toEqual([["", "244.1 MiB", "1", false, false]]);
  });
});

describe("limits: one line naming the flag, exit 2", () => {
  it("--max-time interrupts a statement that runs on", async () => {
    const r = await query("SELECT count(*) FROM range(100000000000000)", "--max-time", "1s");
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toBe(
      "clarifai-audit: error: query: stopped after --max-time 1s (raise --max-time, or 0 for no limit)\n",
    );
  });
  it("--max-memory stops a statement that holds too much, with no spill file", async () => {
    const r = await query("SELECT list(x) FROM range(200000000) t(x)", "--max-memory", "64MB");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^clarifai-audit: error: query: Out of Memory Error: [^\n]* \(--max-memory 64MB; raise it, or have the statement hold less\)\n$/,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });
  it("defaults: 1GB, 4 threads, no temp folder; the flags change them", async () => {
    const sql =
      "SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t, current_setting('temp_directory') AS d";
    const d = await query(sql, "--format", "jsonl");
    expect([d.code, d.stderr, d.stdout]).toEqual([0, "", '{"m":"953.6 MiB","t":4,"d":""}\n']);
    const c = await query(sql, "--format", "jsonl", "--max-memory", "2GiB", "--threads", "2");
    expect([c.code, c.stderr, c.stdout]).toEqual([0, "", '{"m":"2.0 GiB","t":2,"d":""}\n']);
  });
  it.each([
    [["--max-memory", "1GX"], /--max-memory: "1GX" is not a size/],
    [["--max-memory", "0MB"], /--max-memory: "0MB" is not a size/],
    [["--threads", "0"], /--threads: "0" is not an integer from 1 to 256/],
    [["--max-time", "5"], /--max-time: not a duration/],
  ])("bad flag %j", async (flags, message) => {
    const r = await query("SELECT 1", ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split("\n")).toHaveLength(2);
  });
});

describe("output streams", () => {
  it("| head -1: a reader that goes away ends the run quietly with exit 0", async () => {
    const child = spawnCli(
      ["query", "--lake", lake, "SELECT x FROM range(5000000) t(x)", "--format", "jsonl"],
      undefined,
      cwd,
    );
    child.stdout?.once("data", () => child.stdout?.destroy());
    const r = await collect(child);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });
  it("json is JSON.stringify(rows, null, 2); csv and jsonl agree; table is measured on its first 2,048 rows", async () => {
    const sql =
      "SELECT x, repeat('w', CAST(x / 100 AS INTEGER)) AS s, x % 3 = 0 AS b FROM range(2500) t(x) ORDER BY x";
    const [json, jsonl, csv, table, empty] = await Promise.all([
      query(sql, "--format", "json"),
      query(sql, "--format", "jsonl"),
      query(sql, "--format", "csv"),
      query(sql, "--format", "table"),
      query("SELECT 1 AS a WHERE false", "--format", "json"),
    ]);
    const rows = JSON.parse(json.stdout) as { x: number; s: string; b: boolean }[];
    expect(rows).toHaveLength(2500);
    expect(json.stdout).toBe(`${JSON.stringify(rows, null, 2)}\n`);
    expect(jsonl.stdout).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    expect(csv.stdout.split("\n").slice(0, 3)).toEqual(["x,s,b", "0,,true", "1,,false"]);
    expect(csv.stdout.split("\n")).toHaveLength(2502);
    const lines = table.stdout.split("\n");
    // Widths of the first 2,048 rows (x up to 2047, s up to 20 w's); later rows widen s to 25.
    expect(lines[0]).toBe(`x     s${" ".repeat(21)}b`);
    expect(lines[1]).toBe(`----  ${"-".repeat(20)}  -----`);
    expect(lines.filter((l) => l.startsWith("x "))).toHaveLength(1);
    expect(lines[2]).toBe(`0${" ".repeat(27)}true`);
    expect(lines[2501]).toBe(`2499  ${"w".repeat(25)}  true`);
    expect(lines).toHaveLength(2503);
    expect(empty.stdout).toBe("[]\n");
  });
  it("table escapes control characters", async () => {
    const r = await query("SELECT 'a' || chr(27) || '[31mred' || chr(7) AS s", "--format", "table");
    expect(r.stdout).toBe("s\n----------------\na\\x1b[31mred\\x07\n");
  });
});
