/**
 * `clarifai-audit export` against the emulator, on a 20k-entry log: equal to the reference set and
 * byte-identical at concurrency 1 and 8, every format, gzip, the JSONL → emulator round trip, and
 * the refusals.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { CSV_COLUMNS } from "../../packages/client/src/export/formats.js";
import { startEmulator } from "../../packages/emulator/src/index.js";
import {
  byTime,
  connection,
  expectOrdered,
  fileLines,
  type GeneratedEmulator,
  PAT,
  parseCsv,
  runCli,
  runMain,
  setDigest,
  startGeneratedEmulator,
  type tempDir,
  USER,
} from "./helpers.js";

const COUNT = 20_000;
const SEED = 6;
let conn: string[];
let sorted: AuditLogEntry[];
let tmp: ReturnType<typeof tempDir>;

const iso = (e: AuditLogEntry) => JSON.parse(entryToJsonLine(e)).timestamp as string;
/** Entries from sorted[a] to sorted[b], widened to every entry sharing the end timestamps (inclusive window). */
function between(a: number, b: number): AuditLogEntry[] {
  const lo = sorted[a]!;
  const hi = sorted[b]!;
  return sorted.filter((e) => byTime(e, lo) >= 0 && byTime(e, hi) <= 0);
}

let generated: GeneratedEmulator;
beforeAll(async () => {
  generated = await startGeneratedEmulator(COUNT, SEED);
  ({ conn, sorted, tmp } = generated);
});
afterAll(() => generated.close());

it("gives byte-identical windows at concurrency 1 and 8, equal to the reference subset", async () => {
  const part = between(2_000, 16_999);
  const window = ["--from", iso(part[0]!), "--to", iso(part[part.length - 1]!), "--per-page", "500"];
  const one = join(tmp.dir, "c1.jsonl");
  const eight = join(tmp.dir, "c8.jsonl");
  const [r1, r8] = await Promise.all([
    runCli(["export", ...conn, ...window, "--concurrency", "1", "--out", one]),
    runCli(["export", ...conn, ...window, "--concurrency", "8", "--out", eight]),
  ]);
  expect([r1.code, r8.code]).toEqual([0, 0]);
  expect(setDigest(fileLines(one))).toEqual(setDigest(part.map(entryToJsonLine)));
  expectOrdered(fileLines(one));
  expect(readFileSync(eight).equals(readFileSync(one))).toBe(true);
});

describe("formats", () => {
  const part = () => between(1000, 2999);
  const window = () => [
    "--from",
    iso(part()[0]!),
    "--to",
    iso(part()[part().length - 1]!),
    "--per-page",
    "300",
  ];

  it("json is one document; csv has the fixed header; .gz compresses the same bytes", async () => {
    const base = join(tmp.dir, "f");
    const runs = await Promise.all(
      ["jsonl", "json", "csv", "jsonl.gz", "csv.gz"].map((ext) =>
        runCli(["export", ...conn, ...window(), "--out", `${base}.${ext}`]),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    const jsonl = readFileSync(`${base}.jsonl`);
    const expected = part().map(entryToJsonLine);
    expect(jsonl.toString()).toBe(`${expected.join("\n")}\n`);
    const doc = JSON.parse(readFileSync(`${base}.json`, "utf8")) as unknown[];
    expect(doc.map((e) => JSON.stringify(e))).toEqual(expected);
    const csv = readFileSync(`${base}.csv`);
    const rows = parseCsv(csv.toString());
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.slice(1).map((r) => r[8])).toEqual(part().map((e) => e.reqId));
    expect(gunzipSync(readFileSync(`${base}.jsonl.gz`)).equals(jsonl)).toBe(true);
    expect(gunzipSync(readFileSync(`${base}.csv.gz`)).equals(csv)).toBe(true);
  });

  it("--format overrides the name; an empty window gives a valid empty document", async () => {
    const out = join(tmp.dir, "empty.out");
    const r = await runCli([
      "export",
      ...conn,
      "--from",
      "2020-01-01T00:00:00Z",
      "--to",
      "2020-01-02T00:00:00Z",
      "--format",
      "json",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual([]);
    expect(r.stderr).toMatch(/exported 0 entries/);
  });

  it("filters apply to the export", async () => {
    const out = join(tmp.dir, "ops.jsonl");
    const r = await runCli([
      "export",
      ...conn,
      ...window(),
      "--operation",
      "MODEL_CREATE",
      "--failed",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    const expected = part().filter((e) => e.operation === 300 && !e.success);
    expect(fileLines(out)).toEqual(expected.map(entryToJsonLine));
  });
});

it("an exported JSONL loads back into the emulator and re-exports byte for byte", async () => {
  const first = join(tmp.dir, "trip1.jsonl");
  const second = join(tmp.dir, "trip2.jsonl");
  const part = between(6_000, 10_999);
  const window = ["--from", iso(part[0]!), "--to", iso(part[part.length - 1]!)];
  expect((await runCli(["export", ...conn, ...window, "--out", first])).code).toBe(0);
  const again = await startEmulator({ pats: { [PAT]: USER }, dataFiles: [first], restPort: false });
  try {
    expect(again.size()).toBe(part.length);
    const r = await runCli(["export", ...connection(again.grpcAddress), "--out", second]);
    expect(r.code).toBe(0);
  } finally {
    await again.close();
  }
  expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
});

describe("refusals (exit 2, one line)", () => {
  it("an existing output without --force; --force overwrites", async () => {
    const out = join(tmp.dir, "exists.jsonl");
    const window = ["--from", iso(sorted[0]!), "--to", iso(sorted[9]!)];
    const expected = between(0, 9).length;
    expect((await runCli(["export", ...conn, ...window, "--out", out])).code).toBe(0);
    const refused = await runMain(["export", ...conn, ...window, "--out", out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^clarifai-audit: error: .*already exists; pass --force.*\n$/);
    expect((await runCli(["export", ...conn, ...window, "--out", out, "--force"])).code).toBe(0);
    expect(fileLines(out)).toHaveLength(expected);
  });
  it.each([
    [["--concurrency", "0"]],
    [["--settle", "soon"]],
    [["--per-page", "5000"]],
    [["--format", "xml"]],
    [["--resume", "--force"]],
    [["--commit-interval", "-1s"]],
    [["--since", "1h", "--from", "2025-01-01T00:00:00Z"]],
    [["--memory", "small"]],
  ])("bad flags %j", async (flags) => {
    const r = await runMain(["export", ...conn, "--out", join(tmp.dir, "bad.jsonl"), ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
  });
  it("an --out in a missing directory, or that is a directory, before any request", async () => {
    const calls = generated.emu.calls;
    const r = await runMain(["export", ...conn, "--out", join(tmp.dir, "missing", "x.jsonl")]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(
        /^clarifai-audit: error: --out: the folder [^\n]*missing does not exist; create it first\n$/,
      ),
    });
    const dir = await runMain(["export", ...conn, "--out", tmp.dir, "--force"]);
    expect({ code: dir.code, stderr: dir.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(
        /^clarifai-audit: error: --out: [^\n]* is a directory, not a regular file; [^\n]*\n$/,
      ),
    });
    expect(generated.emu.calls).toBe(calls);
  });
  it("--out is required", async () => {
    const r = await runMain(["export", ...conn]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });
});
