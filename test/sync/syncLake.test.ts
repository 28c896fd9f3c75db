/**
 * `sync --dest DIR` and `query --lake DIR` as the built CLI runs them, against the emulator over gRPC:
 * SIGKILL at random points while the log grows with late entries, then a final `sync --settle 0s`
 * leaves every entry of the emulator's full listing in the lake exactly once (DuckDB and hyparquet
 * agree); a second sync on the same DIR is refused; bad input is one line and exit 2.
 */

import { createHash } from "node:crypto";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import {
  collect,
  connection,
  fileLines,
  PAT,
  runCli,
  runCliWithReadOnlyFolder,
  runKilledAtRandomPoints,
  seededRandom,
  spawnCli,
  tempDir,
  USER,
  waitForStderr,
} from "../cli/helpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(1_500, 31), restPort: false });
  conn = connection(emu.grpcAddress);
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

function digest(lines: string[]): string {
  const hash = createHash("sha256");
  for (const l of [...lines].sort()) hash.update(`${l}\n`);
  return hash.digest("hex");
}

const SYNC_FLAGS = ["--settle", "0s", "--reconcile", "3650d", "--per-page", "50", "--concurrency", "3"];

async function lakeEntries(dir: string): Promise<string[]> {
  const r = await runCli(["query", "--lake", dir, "SELECT entry FROM audit_log", "--format", "jsonl"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return fileLinesOf(r.stdout).map((l) => (JSON.parse(l) as { entry: string }).entry);
}

function fileLinesOf(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0);
}

async function hyparquetEntries(dir: string): Promise<string[]> {
  const state = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as {
    files: { path: string }[];
  };
  const out: string[] = [];
  for (const f of state.files) {
    const file = await asyncBufferFromFile(join(dir, f.path));
    const rows = (await parquetReadObjects({ file, columns: ["entry"], compressors })) as { entry: string }[];
    for (const r of rows) out.push(r.entry);
  }
  return out;
}

it.each([
  ["lean", "a commit per page", ["--commit-interval", "0"], 20261201],
  // Commits by count only, two at a time on two DuckDB connections, published in order.
  ["fast", "two commits in flight", ["--commit-entries", "60", "--commit-interval", "1h"], 20261202],
])(
  "killed at random points while the log grows with late entries, the lake ends with every entry exactly once (--memory %s, %s)",
  async (memory, _how, flags, seed) => {
    const dir = join(tmp.dir, `lake-kill-${memory}`);
    const random = seededRandom(seed);
    emu.setFaults({ latencyMs: 4, growth: { count: 15, everyMs: 40, lateFraction: 0.4 }, seed: 5 });
    const killed = await runKilledAtRandomPoints(
      ["sync", ...conn, "--dest", dir, ...SYNC_FLAGS, "--memory", memory, ...flags, "-q"],
      4,
      random,
      // -q: a run that completes prints nothing.
      /^$/,
    );
    expect(killed).toBeGreaterThan(0);
    emu.resetFaults();
    const final = await runCli(["sync", ...conn, "--dest", dir, ...SYNC_FLAGS, "--memory", memory, ...flags]);
    expect({ code: final.code, stderr: final.stderr }).toEqual({
      code: 0,
      // A kill may have left a window half synced: this run resumes it first, then syncs a new one.
      stderr: expect.stringMatching(
        /^(resuming|syncing) window [^\n]*\nsynced \d+ new entries \(\d+ late\) to /,
      ),
    });

    const full = join(tmp.dir, `full-${memory}.jsonl`);
    const exp = await runCli(["export", ...conn, "--out", full, "--settle", "0", "--quiet"]);
    expect(exp.code).toBe(0);
    const expected = fileLines(full);
    expect(expected.length).toBe(emu.size());

    const duck = await lakeEntries(dir);
    expect(duck.length).toBe(expected.length);
    expect(new Set(duck).size).toBe(duck.length);
    expect(digest(duck)).toBe(digest(expected));
    const hyp = await hyparquetEntries(dir);
    expect(hyp.length).toBe(expected.length);
    expect(digest(hyp)).toBe(digest(expected));

    const count = await runCli([
      "query",
      "--lake",
      dir,
      "SELECT count(*) AS n, count(DISTINCT entry) AS d FROM audit_log",
      "--format",
      "json",
    ]);
    expect(JSON.parse(count.stdout)).toEqual([{ n: expected.length, d: expected.length }]);
    // The state's totals count every commit, those that ran side by side included.
    expect(final.stderr).toContain(`the destination holds ${expected.length} entries`);
  },
  300_000,
);

it("--follow runs until SIGTERM (exit 0); its many small files are compacted; nothing lost or repeated", async () => {
  const dir = join(tmp.dir, "lake-follow");
  emu.setFaults({ growth: { count: 10, everyMs: 30, lateFraction: 0.3 }, seed: 9 });
  const child = spawnCli(["sync", ...conn, "--dest", dir, ...SYNC_FLAGS, "--follow", "--interval", "50ms"]);
  const done = collect(child);
  const runsIn = (text: string) => text.split("\n").filter((l) => l.startsWith("synced ")).length;
  await waitForStderr(child, (t) => runsIn(t) >= 10);
  child.kill("SIGTERM");
  const r = await done;
  emu.resetFaults();
  expect(r.code).toBe(0);
  expect(runsIn(r.stderr)).toBeGreaterThanOrEqual(10);
  const state = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as {
    files: { path: string }[];
    state: { totals: { runs: number; late: number } };
  };
  // 10+ commits of new entries into one partition, merged once 8 small files pile up.
  const perPartition = new Map<string, number>();
  for (const f of state.files) {
    const p = f.path.split("/")[1] as string;
    perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
  }
  expect(Math.max(...perPartition.values())).toBeLessThan(8);
  expect(state.files.some((f) => /-c-[0-9a-f]+\.parquet$/.test(f.path))).toBe(true);
  expect(state.state.totals.late).toBeGreaterThan(0);
  const final = await runCli(["sync", ...conn, "--dest", dir, ...SYNC_FLAGS, "-q"]);
  expect(final.code).toBe(0);
  const full = join(tmp.dir, "full-follow.jsonl");
  expect((await runCli(["export", ...conn, "--out", full, "--settle", "0", "--quiet"])).code).toBe(0);
  const expected = fileLines(full);
  const got = await lakeEntries(dir);
  expect(got.length).toBe(expected.length);
  expect(digest(got)).toBe(digest(expected));
}, 240_000);

it("refuses a second sync on the same DIR while one runs", async () => {
  const dir = join(tmp.dir, "lake-busy");
  emu.setFaults({ latencyMs: 60 });
  const first = spawnCli(["sync", ...conn, "--dest", dir, ...SYNC_FLAGS]);
  const firstDone = collect(first);
  await waitForStderr(first, (t) => t.includes("syncing window"));
  const second = await runCli(["sync", ...conn, "--dest", dir, ...SYNC_FLAGS]);
  emu.resetFaults();
  expect(second.code).toBe(2);
  expect(second.stderr).toMatch(/^clarifai-audit: error: --dest: another sync is running on .*\n$/);
  const r = await firstDone;
  expect(r.code).toBe(0);
}, 180_000);

describe("bad input: one line, exit 2, nothing changed", () => {
  let lake: string;
  beforeAll(async () => {
    lake = join(tmp.dir, "lake-ok");
    const r = await runCli(["sync", ...conn, "--dest", lake, "--settle", "0s", "-q"]);
    expect(r.code).toBe(0);
  }, 120_000);
  const state = () => readFileSync(join(lake, "_clarifai_sync.json"), "utf8");

  it("a DIR that is a file", async () => {
    const file = join(tmp.dir, "a-file");
    writeFileSync(file, "x");
    const r = await runCli(["sync", ...conn, "--dest", file, "-q"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: `clarifai-audit: error: --dest: ${file} is not a directory\n`,
    });
  });
  it("a DIR that is not writable (by the user sync runs as)", async () => {
    const calls = emu.calls;
    const r = await runCliWithReadOnlyFolder((dir) => ["sync", ...conn, "--dest", dir, "-q"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: `clarifai-audit: error: --dest: ${r.folder} is not writable\n`,
    });
    expect(emu.calls).toBe(calls);
    expect(r.left).toEqual([]);
  });
  it("another user's lake", async () => {
    const before = state();
    const r = await runCli(["sync", ...conn, "--dest", lake, "--user-id", "someone-else", "-q"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^clarifai-audit: error: --dest: \S+ holds the log of user cli-user at \S+; this sync asks for --user-id someone-else \(the other fields match\); use another --dest, or the same filters\n$/,
    );
    expect(state()).toBe(before);
  });
  it("a bad SQL statement", async () => {
    const r = await runCli(["query", "--lake", lake, "SELEC count(*) FROM audit_log"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^clarifai-audit: error: query: Parser Error: syntax error at or near "SELEC".*\n$/,
    );
    expect(r.stderr.split("\n")).toHaveLength(2);
  });
  it("a statement that writes", async () => {
    const r = await runCli(["query", "--lake", lake, `COPY (SELECT 1) TO '${join(lake, "x.csv")}'`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only read-only statements/);
  });
  it("a corrupt Parquet file is named", async () => {
    const dir = join(tmp.dir, "lake-corrupt");
    expect((await runCli(["sync", ...conn, "--dest", dir, "--settle", "0s", "-q"])).code).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as {
      files: { path: string; bytes: number }[];
    };
    const victim = join(dir, m.files[0]?.path as string);
    truncateSync(victim, 64);
    const r = await runCli(["sync", ...conn, "--dest", dir, "-q"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `clarifai-audit: error: ${victim} is not a valid Parquet file of this lake (64 bytes, the state file says ${m.files[0]?.bytes} bytes); nothing was changed\n`,
    );
    expect(r.stderr).toContain(victim);
    const q = await runCli(["query", "--lake", dir, "SELECT 1"]);
    expect(q.code).toBe(2);
    expect(q.stderr).toContain(victim);
  });
});

it("query formats: json is one array of row objects, csv has a header, table aligns", async () => {
  const lake = join(tmp.dir, "lake-ok");
  const sql = "SELECT operation_name, count(*) AS n FROM audit_log GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3";
  const json = await runCli(["query", "--lake", lake, sql, "--format", "json"]);
  const rows = JSON.parse(json.stdout) as { operation_name: string; n: number }[];
  expect(rows).toHaveLength(3);
  expect(typeof rows[0]?.n).toBe("number");
  const csv = await runCli(["query", "--lake", lake, sql, "--format", "csv"]);
  expect(csv.stdout.split("\n")[0]).toBe("operation_name,n");
  expect(csv.stdout.split("\n")[1]).toBe(`${rows[0]?.operation_name},${rows[0]?.n}`);
  const table = await runCli(["query", "--lake", lake, sql, "--format", "table"]);
  expect(table.stdout.split("\n")[0]).toMatch(/^operation_name\s+n$/);
});
