/**
 * `report --lake DIR` as the built CLI runs it: a lake synced by the built CLI from the emulator
 * reports the same totals (and the same page, but for the source and generation time) as an
 * export of the same log; bad input (not a lake, --lake with --input or live-window flags) is one
 * line and exit 2.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type GeneratedEmulator, runCli, startGeneratedEmulator } from "./helpers.js";

const COUNT = 400;
let generated: GeneratedEmulator;
let lake: string;
let jsonl: string;

beforeAll(async () => {
  generated = await startGeneratedEmulator(COUNT, 23);
  lake = join(generated.tmp.dir, "lake");
  jsonl = join(generated.tmp.dir, "export.jsonl");
  const [s, e] = await Promise.all([
    runCli(["sync", ...generated.conn, "--dest", lake, "--settle", "0s", "-q"]),
    runCli(["export", ...generated.conn, "--out", jsonl, "--settle", "0", "--quiet"]),
  ]);
  expect([s.code, s.stderr, e.code]).toEqual([0, "", 0]);
});
afterAll(async () => {
  await generated?.close();
});

/** The totals block of a report page: id → the number as printed. */
function totals(html: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of html.matchAll(/id="total-([a-z-]+)">([^<]*)</g)) found[m[1] as string] = m[2] as string;
  return found;
}

it("a lake reports what an export of the same log reports", async () => {
  const fromLake = join(generated.tmp.dir, "lake.html");
  const fromFile = join(generated.tmp.dir, "file.html");
  // The same window for both: without one, a lake is charted up to its high-water mark, a file over its entries.
  const day = ["--from", "2025-01-01T00:00:00Z", "--to", "2025-01-01T23:59:59.999999999Z"];
  const [a, b] = await Promise.all([
    runCli(["report", "--lake", lake, ...day, "--out", fromLake]),
    runCli(["report", "--input", jsonl, ...day, "--out", fromFile, "--quiet"]),
  ]);
  expect([a.code, b.code, b.stderr]).toEqual([0, 0, ""]);
  expect(a.stderr).toMatch(/^report: 400 entries from \S+ to \S+; /);
  const lakeHtml = readFileSync(fromLake, "utf8");
  const fileHtml = readFileSync(fromFile, "utf8");
  const t = totals(lakeHtml);
  expect(t.entries).toBe("400");
  expect(Object.keys(t).length).toBeGreaterThanOrEqual(5);
  expect(t).toEqual(totals(fileHtml));
  // Everything else too: the charts and tables, once the source and the generation time are set aside.
  // Lines are compared sorted: entries of the same nanosecond may be listed in another order.
  // The full lists' CSV (data: URLs) likewise, compared as sorted lines.
  const csv = (base64: string) =>
    Buffer.from(base64, "base64").toString("utf8").split("\n").sort().join("\n");
  const strip = (html: string, source: string) =>
    html
      .replaceAll(source, "SOURCE")
      .replace(/base64,([^"]+)/g, (_, base64: string) => csv(base64))
      .replace(/(<th>Generated<\/th><td class="mono">)[^<]*/, "$1")
      .split("\n")
      .sort();
  expect(strip(lakeHtml, lake)).toEqual(strip(fileHtml, jsonl));
});

it("without a window, a lake is charted from its first entry to its high-water mark", async () => {
  const r = await runCli(["report", "--lake", lake, "--format", "json", "--out", "-", "-q"]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  const doc = JSON.parse(r.stdout) as {
    window: { from: string; to: string; basis: string };
    span: { earliest: string; latest: string };
    buckets: { rows: { entries: number }[] };
  };
  expect(doc.window.basis).toBe("synced");
  expect(doc.window.from).toBe(doc.span.earliest);
  // The sync ran up to (about) now: the high-water mark is far past the last entry, the days between zero.
  expect(Date.parse(doc.window.to)).toBeGreaterThan(Date.parse(doc.span.latest) + 86_400_000);
  expect(doc.buckets.rows.filter((b) => b.entries === 0).length).toBeGreaterThan(0);
});

describe("bad input: one line, exit 2", () => {
  const run = (args: string[]) => runCli(["report", ...args, "--out", join(generated.tmp.dir, "x.html")]);
  it("a DIR that is not a lake", async () => {
    const empty = join(generated.tmp.dir, "not-a-lake");
    mkdirSync(empty);
    const r = await run(["--lake", empty]);
    expect(r).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^clarifai-audit: error: --lake: .*not-a-lake has no _clarifai_sync\.json; .*\n$/,
      ),
    });
  });
  it("a DIR that does not exist, or is a file", async () => {
    const file = join(generated.tmp.dir, "file.txt");
    writeFileSync(file, "x\n");
    const missing = await run(["--lake", join(generated.tmp.dir, "nope")]);
    expect(missing).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clarifai-audit: error: --lake: .*nope does not exist\n$/),
    });
    const notDir = await run(["--lake", file]);
    expect(notDir).toMatchObject({
      code: 2,
      stderr: `clarifai-audit: error: --lake: ${file} is not a directory\n`,
    });
  });
  it("--lake with --input, a filter or a connection flag", async () => {
    const both = await run(["--lake", lake, "--input", jsonl]);
    expect(both).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clarifai-audit: error: --lake: give one input.*\n$/),
    });
    const filter = await run(["--lake", lake, "--operation", "APP_CREATE"]);
    expect(filter).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clarifai-audit: error: --operation: .*with --lake.*\n$/),
    });
    const conn = await run(["--lake", lake, ...generated.conn]);
    expect(conn).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clarifai-audit: error: --\S+: .*with --lake.*\n$/),
    });
  });
});

// A combination the pipeline core gives for free: the lake as a source of exported entries
// (packages/cli/src/sync/lake/records.ts) replayed through the rules, with rules test's flags as report's.
describe("rules test --lake DIR", () => {
  const rulesTest = (args: string[]) => runCli(["rules", "test", "--rules", "builtin", ...args]);
  it("fires the alerts an export of the same log fires", async () => {
    const [fromLake, fromFile] = await Promise.all([
      rulesTest(["--lake", lake]),
      rulesTest(["--input", jsonl]),
    ]);
    expect([fromLake.code, fromFile.code]).toEqual([0, 0]);
    expect(fromLake.stderr).toMatch(/^rules test: 400 entries, \d+ alert\(s\) /);
    const alerts = (out: string) => out.split("\n").filter((l) => l !== "");
    expect(alerts(fromFile.stdout).length).toBeGreaterThan(0);
    // Sorted: entries of the same nanosecond may come in another order.
    expect(alerts(fromLake.stdout).sort()).toEqual(alerts(fromFile.stdout).sort());
  });
  it("bad input: one line, exit 2", async () => {
    const both = await rulesTest(["--lake", lake, "--input", jsonl]);
    expect(both).toMatchObject({
      code: 2,
      stderr: "clarifai-audit: error: --lake: give one input, --lake DIR or --input FILE, not both\n",
    });
    const neither = await rulesTest([]);
    expect(neither).toMatchObject({
      code: 2,
      stderr: "clarifai-audit: error: --input: name an export to replay (or a lake: --lake DIR)\n",
    });
    const missing = await rulesTest(["--lake", join(generated.tmp.dir, "nope")]);
    expect(missing).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clarifai-audit: error: --lake: .*nope does not exist\n$/),
    });
  });
});
