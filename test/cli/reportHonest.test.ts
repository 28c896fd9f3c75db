/**
 * An honest report, in process (main(argv, env, io)): for each input kind — a live window, an export
 * file (--input) and a lake (--lake) — a 33-day window whose entries all fall on one day is charted
 * over all 33 days (32 of them zero), as `report --format json` (validated against its documented
 * schema) and as the page; the page's numbers equal the JSON's; the CSV behind a cut table holds
 * every row the page says it does; `--out -` writes to stdout; bad --format/--out is one line, exit 2.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { REPORT_JSON_SCHEMA } from "../../packages/cli/src/report/reportJson.js";
import { timeAxis } from "../../packages/cli/src/report/timeAxis.js";
import { type GeneratedEmulator, runMain, startGeneratedEmulator } from "./helpers.js";

const COUNT = 600;
const FROM = "2024-12-01T00:00:00Z";
const TO = "2025-01-02T23:59:59.999999999Z";
let generated: GeneratedEmulator;
let jsonl: string;
let lake: string;

beforeAll(async () => {
  generated = await startGeneratedEmulator(COUNT, 31);
  jsonl = join(generated.tmp.dir, "export.jsonl");
  lake = join(generated.tmp.dir, "lake");
  // One after the other: jest's ESM loader fails concurrent first imports of a module in one process.
  const e = await runMain(["export", ...generated.conn, "--out", jsonl, "--settle", "0", "--quiet"]);
  const s = await runMain(["sync", ...generated.conn, "--dest", lake, "--settle", "0s", "-q"]);
  expect([e.code, s.code]).toEqual([0, 0]);
});
afterAll(async () => {
  await generated?.close();
});

const validate = new Ajv({ allErrors: true }).compile(REPORT_JSON_SCHEMA);

interface ReportJson {
  window: { from: string; to: string; basis: string };
  entries_outside_window: number;
  totals: Record<string, number | boolean>;
  buckets: { unit: string; rows: { start: string; end: string; entries: number; failed: number }[] };
  users: { total: number; rows: unknown[] };
  source_ips: { total: number; complete: boolean; rows: { source_ip: string; entries: number }[] };
  deletions: { total: number; complete: boolean; rows: { timestamp: string; req_id: string }[] };
  membership_changes: { total: number; rows: unknown[] };
}

async function reportJson(args: string[]): Promise<ReportJson> {
  const r = await runMain(["report", ...args, "--format", "json", "--out", "-", "-q"]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  const doc = JSON.parse(r.stdout) as ReportJson;
  const valid = validate(doc);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
  return doc;
}

const kinds: [string, () => string[]][] = [
  ["a live window", () => [...generated.conn, "--settle", "0"]],
  ["an export file", () => ["--input", jsonl]],
  ["a lake", () => ["--lake", lake]],
];

it.each(kinds)("%s: every day of the window is a bucket, the empty ones zero", async (_, args) => {
  const doc = await reportJson([...args(), "--from", FROM, "--to", TO]);
  expect(doc.window).toEqual({
    from: "2024-12-01T00:00:00Z",
    to: TO,
    basis: args()[0] === "--input" || args()[0] === "--lake" ? "requested" : "pinned",
  });
  expect(doc.totals.entries).toBe(COUNT);
  expect(doc.buckets.unit).toBe("day");
  const rows = doc.buckets.rows;
  expect(rows).toHaveLength(33);
  expect(rows[0]!.start).toBe("2024-12-01T00:00:00Z");
  expect(rows[32]!.end).toBe("2025-01-03T00:00:00Z");
  expect(rows.filter((r) => r.entries === 0)).toHaveLength(32);
  expect(rows.find((r) => r.entries > 0)?.start).toBe("2025-01-01T00:00:00Z");
  expect(rows.reduce((a, r) => a + r.failed, 0)).toBe(doc.totals.failed);
  // Every table in full.
  expect(doc.deletions.rows).toHaveLength(doc.totals.deletions as number);
  expect(doc.source_ips.rows.length).toBe(doc.source_ips.total);
});

it("a window narrower than the input leaves out (and counts) the entries outside it", async () => {
  const from = "2025-01-01T00:30:00Z";
  const to = "2025-01-01T01:59:59.999999999Z";
  const [a, b] = [Date.parse(from) / 1000, Date.parse("2025-01-01T02:00:00Z") / 1000];
  const inside = generated.sorted.filter((e) => e.timestamp!.seconds >= a && e.timestamp!.seconds < b).length;
  expect(inside).toBeLessThan(COUNT - 100);
  const doc = await reportJson(["--input", jsonl, "--from", from, "--to", to]);
  expect(doc.totals.entries).toBe(inside);
  expect(doc.entries_outside_window).toBe(COUNT - inside);
  expect(doc.window.basis).toBe("requested");
  expect(doc.buckets.unit).toBe("hour");
  expect(doc.buckets.rows.map((r) => r.start)).toEqual(["2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z"]);
});

/** A CSV's records (RFC 4180: quoted fields may hold commas, quotes and newlines). */
function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (quoted || (c !== "," && c !== "\n")) field += c;
    else {
      record.push(field);
      field = "";
      if (c === "\n") {
        records.push(record);
        record = [];
      }
    }
  }
  return records;
}

it("the page says what the JSON says, and the CSV behind each cut table holds every row", async () => {
  const html = join(generated.tmp.dir, "page.html");
  const r = await runMain(["report", "--input", jsonl, "--from", FROM, "--to", TO, "--out", html]);
  expect(r.code).toBe(0);
  const page = readFileSync(html, "utf8");
  const doc = await reportJson(["--input", jsonl, "--from", FROM, "--to", TO]);
  const card = (id: string) => page.match(new RegExp(`id="total-${id}">([^<]*)<`))?.[1];
  expect(card("entries")).toBe(String(doc.totals.entries));
  expect(card("failed")).toBe(String(doc.totals.failed));
  expect(card("deletions")).toBe(String(doc.totals.deletions));
  // The exact counts per day: the JSON's buckets, zero days included.
  const table = page.split("Exact counts per day and category")[1]!.split("</table>")[0]!;
  const days = [
    ...table.matchAll(
      /<tr><td><span class="mono">([\d-]+)<\/span><\/td>.*?<td class="num">([\d,]+)<\/td><\/tr>/g,
    ),
  ];
  expect(days.map((m) => [m[1], Number(m[2])])).toEqual(
    doc.buckets.rows.map((b) => [b.start.slice(0, 10), b.entries]),
  );
  // The page's axis: the window's own ticks, every label once.
  const labels = timeAxis({ fromMs: Date.parse(FROM), toMs: Date.parse(TO.replace(/\.\d+/, "")) }).ticks.map(
    (t) => t.label,
  );
  for (const label of labels) expect(page.split(`>${label}</text>`)).toHaveLength(3); // the two time charts
  expect(page).toContain("Day (UTC)");
  expect(page).not.toContain("the export holds every one");
  // Cut tables: "all M are in NAME.csv", and the CSV holds M rows, those of the JSON.
  const cut = [
    ...page.matchAll(
      /all ([\d,]+) are in <a class="csv" download="([a-z-]+)\.csv" href="data:text\/csv;charset=utf-8;base64,([^"]+)"/g,
    ),
  ];
  expect(cut.map((m) => m[2])).toEqual(
    expect.arrayContaining(["source-ips", "deletions", "membership-changes"]),
  );
  for (const [, m, name, base64] of cut) {
    const records = csvRecords(Buffer.from(base64!, "base64").toString("utf8"));
    expect(records.length - 1).toBe(Number(m!.replace(/,/g, "")));
    if (name === "deletions") {
      expect(records.length - 1).toBe(doc.deletions.total);
      expect(records.slice(1).map((rec) => rec[8])).toEqual(doc.deletions.rows.map((d) => d.req_id));
    }
    if (name === "source-ips") expect(records.length - 1).toBe(doc.source_ips.total);
  }
  // "The 15 source IPs with the most entries, of M": M is the list's length.
  expect(page).toContain(`The 15 source IPs with the most entries, of ${doc.source_ips.total};`);
});

it("--out - writes the HTML page to stdout (no file named -); bad --format or a PDF to stdout: one line, exit 2", async () => {
  const r = await runMain(["report", "--input", jsonl, "--out", "-", "-q"]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  expect(r.stdout).toMatch(/^<!DOCTYPE html>\n[\s\S]*<\/html>\n$/);
  expect(existsSync("-")).toBe(false);
  const bad = await runMain(["report", "--input", jsonl, "--out", "-", "--format", "xml"]);
  expect([bad.code, bad.stdout, bad.stderr]).toEqual([
    2,
    "",
    "clarifai-audit: error: option '--format <format>' argument 'xml' is invalid. Allowed choices are html, pdf, json.\n",
  ]);
  const pdf = await runMain(["report", "--input", jsonl, "--out", "-", "--format", "pdf"]);
  expect([pdf.code, pdf.stdout]).toEqual([2, ""]);
  expect(pdf.stderr).toMatch(/^clarifai-audit: error: --out -: a PDF is not written to stdout .*\n$/);
  const filter = await runMain(["report", "--lake", lake, "--operation", "APP_CREATE", "--out", "-"]);
  expect(filter.code).toBe(2);
  expect(filter.stderr).toMatch(
    /^clarifai-audit: error: --operation: filters and connection flags select a live window/,
  );
});
