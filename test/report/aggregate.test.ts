/**
 * The report's reading and aggregation without a browser: entries read from JSON (both field
 * spellings, refusals), export files streamed in every layout `export` writes (JSONL, JSON array,
 * gzip) with bad input named by line, the bounded table rows, and the totals against a count made
 * here from the same entries.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { ReportAggregator } from "../../packages/cli/src/report/aggregate.js";
import type { ReportEntry } from "../../packages/cli/src/report/entry.js";
import { escapeHtml, formatCount } from "../../packages/cli/src/report/html.js";
import { InputError, readExportFile } from "../../packages/cli/src/report/input.js";
import { EdgeRows, FullRows } from "../../packages/cli/src/report/rows.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import {
  NotAnEntryError,
  exportedEntryFromJson as reportEntryFromJson,
} from "../../packages/client/src/domain/exportedEntry.js";
import { operationName } from "../../packages/client/src/domain/operations.js";
import { generateEntries } from "../../packages/emulator/src/generate.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clarifai-audit-report-unit-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entries = generateEntries(1500, 21);
const lines = entries.map(entryToJsonLine);

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function read(path: string): Promise<{ got: ReportEntry[]; format: string; gzip: boolean }> {
  const got: ReportEntry[] = [];
  const s = await readExportFile(path, (e) => got.push(e));
  expect(s.entries).toBe(got.length);
  return { got, format: s.format, gzip: s.gzip };
}

async function failure(path: string): Promise<string> {
  try {
    await readExportFile(path, () => undefined);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("no error");
}

describe("reportEntryFromJson", () => {
  it("reads an exported line exactly (timestamp text kept) and camelCase JSON alike", () => {
    const e = reportEntryFromJson(JSON.parse(lines[0] as string));
    const src = entries[0]!;
    expect(e.timestamp).toBe(JSON.parse(lines[0] as string).timestamp);
    expect(e.ts).toEqual({ seconds: src.timestamp!.seconds, nanos: src.timestamp!.nanos });
    expect(e.userId).toBe(src.user?.id ?? "");
    expect(e.operationName).toBe(operationName(src.operation));
    expect(e.success).toBe(src.success);
    const camel = reportEntryFromJson({
      timestamp: "2025-03-01T10:00:00.123456789Z",
      user: { id: "u" },
      operation: "MODEL_DELETE",
      sourceIp: "10.0.0.1",
      reqId: "r",
      targets: [{ model: { id: "m", appId: "a" } }],
    });
    expect(camel).toMatchObject({ operation: 302, sourceIp: "10.0.0.1", reqId: "r", targets: ["model:a/m"] });
    expect(camel.ts).toEqual({ seconds: 1740823200, nanos: 123456789 });
    // proto3 JSON leaves false and empty fields out.
    expect(reportEntryFromJson({ timestamp: "2025-03-01T10:00:00Z" })).toMatchObject({
      success: false,
      userId: "",
    });
  });
  it.each([
    [[1, 2], "not a JSON object"],
    [{ timestamp: "2025-03-01T10:00:00Z", colour: "red" }, 'unknown field "colour"'],
    [{ user: { id: "u" } }, 'no "timestamp"'],
    [{ timestamp: "yesterday" }, "is not RFC 3339"],
    [{ timestamp: "2025-03-01T10:00:00Z", success: "yes" }, '"success"'],
    [{ timestamp: "2025-03-01T10:00:00Z", details: [1] }, '"details"'],
  ])("refuses %j", (value, message) => {
    expect(() => reportEntryFromJson(value)).toThrow(NotAnEntryError);
    expect(() => reportEntryFromJson(value)).toThrow(message);
  });
});

describe("readExportFile", () => {
  it("reads JSONL, the JSON array export writes, any other JSON array layout, and gzip of each", async () => {
    const jsonl = `${lines.join("\n")}\n`;
    const exportJson = `[\n${lines.join(",\n")}\n]\n`;
    const oneLine = JSON.stringify(lines.map((l) => JSON.parse(l)));
    const pretty = JSON.stringify(
      lines.slice(0, 50).map((l) => JSON.parse(l)),
      null,
      2,
    );
    const expected = lines.map((l) => reportEntryFromJson(JSON.parse(l)));
    expect(await read(file("a.jsonl", jsonl))).toEqual({ got: expected, format: "jsonl", gzip: false });
    expect(await read(file("a.json", exportJson))).toEqual({ got: expected, format: "json", gzip: false });
    expect((await read(file("b.json", oneLine))).got).toEqual(expected);
    expect((await read(file("c.json", pretty))).got).toEqual(expected.slice(0, 50));
    // Told by the bytes, not the name.
    expect(await read(file("d.data", gzipSync(jsonl)))).toEqual({
      got: expected,
      format: "jsonl",
      gzip: true,
    });
    expect(await read(file("e.json.gz", gzipSync(exportJson)))).toEqual({
      got: expected,
      format: "json",
      gzip: true,
    });
    expect((await read(file("bom.jsonl", `\ufeff${lines.slice(0, 2).join("\n")}`))).got).toEqual(
      expected.slice(0, 2),
    );
    // CRLF and blank lines.
    expect((await read(file("f.jsonl", `\r\n${lines.slice(0, 3).join("\r\n")}\r\n\r\n`))).got).toEqual(
      expected.slice(0, 3),
    );
  });
  it("reads an empty export (no entries) as zero entries", async () => {
    expect((await read(file("empty.jsonl", ""))).got).toEqual([]);
    expect((await read(file("empty.json", "[]\n"))).got).toEqual([]);
    expect((await read(file("empty.gz", gzipSync("")))).got).toEqual([]);
  });
  it("names the file and the line of what is not an export", async () => {
    const bad = [...lines.slice(0, 4), "{not json", ...lines.slice(4, 6)].join("\n");
    expect(await failure(file("bad.jsonl", bad))).toMatch(/^`input`: .*bad\.jsonl: line 5: not JSON \(/);
    const stranger = [...lines.slice(0, 2), JSON.stringify({ name: "x", age: 3 })].join("\n");
    expect(await failure(file("s.jsonl", stranger))).toMatch(
      /s\.jsonl: line 3: not an audit-log entry: unknown field "name"/,
    );
    expect(await failure(file("x.csv", "timestamp,operation,operation_name\n1,2,3\n"))).toMatch(
      /x\.csv: line 1: a CSV export; report reads JSONL or JSON exports/,
    );
    expect(await failure(file("t.txt", "\n\nhello world\n"))).toMatch(
      /t\.txt: line 3: not an export .*"hello world/,
    );
    expect(await failure(file("n.json", "[1, 2]"))).toMatch(
      /n\.json: line 1: an element that is not an object/,
    );
    expect(await failure(file("tr.json", `[\n${lines.slice(0, 3).join(",\n")}`))).toMatch(
      /tr\.json: line 4: the array is not closed/,
    );
    expect(await failure(file("ae.json", `[\n${lines[0]},\n{"timestamp": 5}\n]`))).toMatch(
      /ae\.json: line 3: not an audit-log entry: no "timestamp"/,
    );
    expect(
      await failure(file("gz.gz", Buffer.concat([gzipSync(lines.join("\n")).subarray(0, 200)]))),
    ).toMatch(/gz\.gz is not a valid gzip file|gz\.gz: line \d+: not JSON/);
    expect(await failure(join(dir, "missing.jsonl"))).toMatch(
      /^`input`: cannot read .*missing\.jsonl \(no such file\)$/,
    );
    expect(await failure(dir)).toMatch(/cannot read .* \(is a directory\)$/);
  });
});

describe("EdgeRows", () => {
  it("keeps the earliest and latest n rows of any arrival order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3 })), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 8 }),
        (items, n) => {
          const rows = new EdgeRows<number>(n);
          items.forEach(([seconds, nanos], i) => {
            rows.add({ seconds, nanos }, () => i);
          });
          const order = items
            .map(([s, ns], i) => ({ s, ns, i }))
            .sort((a, b) => a.s - b.s || a.ns - b.ns || a.i - b.i)
            .map((x) => x.i);
          const got = rows.rows();
          expect(got.total).toBe(items.length);
          if (items.length <= 2 * n) {
            expect(got).toEqual({ total: items.length, head: order, omitted: 0, tail: [] });
          } else {
            expect(got.head).toEqual(order.slice(0, n));
            expect(got.tail).toEqual(order.slice(-n));
            expect(got.omitted).toBe(items.length - 2 * n);
          }
        },
      ),
    );
  });
});

describe("FullRows", () => {
  it("keeps every row up to its cap, past it the earliest cap rows, oldest first, in any arrival order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 10 }),
        (seconds, cap) => {
          const rows = new FullRows<number>(cap);
          seconds.forEach((s, i) => {
            rows.add({ seconds: s, nanos: 0 }, i);
          });
          const order = seconds
            .map((s, i) => ({ s, i }))
            .sort((a, b) => a.s - b.s || a.i - b.i)
            .map((x) => x.i);
          expect(rows.list()).toEqual({ total: seconds.length, rows: order.slice(0, cap) });
        },
      ),
    );
  });
});

describe("ReportAggregator", () => {
  it("totals, per-day, heat map and tables equal a count made from the entries", () => {
    const agg = new ReportAggregator({
      tableRows: 5,
      distinctCap: 1000,
      firstSeenCap: 1000,
      topN: 3,
      detailChars: 80,
      fullRows: 1000,
    });
    // Any order: the newest-first order of `search` must give the same report.
    for (const line of [...lines].reverse()) agg.add(reportEntryFromJson(JSON.parse(line)));
    const data = agg.result();
    const failed = entries.filter((e) => !e.success);
    const deletions = entries.filter((e) => operationName(e.operation).endsWith("_DELETE"));
    expect(data.totals.entries).toBe(entries.length);
    expect(data.totals.failed).toBe(failed.length);
    expect(data.totals.deletions).toBe(deletions.length);
    expect(data.totals.users).toBe(new Set(entries.map((e) => e.user?.id ?? "").filter((u) => u)).size);
    expect(data.totals.sourceIps).toBe(new Set(entries.map((e) => e.sourceIp).filter((u) => u)).size);
    expect(data.days.reduce((a, d) => a + d.byCategory.reduce((x, y) => x + y, 0), 0)).toBe(entries.length);
    expect(data.days.reduce((a, d) => a + d.failed, 0)).toBe(failed.length);
    expect(data.heat.reduce((a, b) => a + b, 0)).toBe(entries.length);
    const e0 = entries[0]!;
    const d0 = Math.floor(e0.timestamp!.seconds / 86400);
    const cell = ((d0 + 3) % 7) * 24 + Math.floor((e0.timestamp!.seconds % 86400) / 3600);
    const sameCell = entries.filter((e) => {
      const d = Math.floor(e.timestamp!.seconds / 86400);
      return ((d + 3) % 7) * 24 + Math.floor((e.timestamp!.seconds % 86400) / 3600) === cell;
    });
    expect(data.heat[cell]).toBe(sameCell.length);
    expect(data.users).toHaveLength(new Set(entries.map((e) => e.user?.id ?? "")).size);
    expect(data.deletions.total).toBe(deletions.length);
    expect(data.deletions.head).toHaveLength(5);
    expect(data.deletions.tail).toHaveLength(5);
    expect(data.deletions.omitted).toBe(deletions.length - 10);
    expect(data.failures.total).toBe(failed.length);
    const ts = (l: string) => JSON.parse(l).timestamp as string;
    const sortedLines = [...lines].sort((a, b) => {
      const x = reportEntryFromJson(JSON.parse(a)).ts;
      const y = reportEntryFromJson(JSON.parse(b)).ts;
      return x.seconds - y.seconds || x.nanos - y.nanos;
    });
    expect(data.span).toEqual({
      earliest: ts(sortedLines[0]!),
      latest: ts(sortedLines[sortedLines.length - 1]!),
    });
    // First seen: the earliest entry of each (user, IP) pair.
    const row = data.firstSeen.rows[0]!;
    const pair = sortedLines
      .map((l) => reportEntryFromJson(JSON.parse(l)))
      .filter((e) => e.userId === row.userId && e.sourceIp === row.sourceIp);
    expect(row.firstSeen).toBe(pair[0]!.timestamp);
    expect(row.entries).toBe(pair.length);
  });
  it("counts distinct values past the cap as a lower bound", () => {
    const agg = new ReportAggregator({
      tableRows: 2,
      distinctCap: 3,
      firstSeenCap: 2,
      topN: 2,
      detailChars: 10,
      fullRows: 1000,
    });
    for (let i = 0; i < 10; i++) {
      agg.add(
        reportEntryFromJson({
          timestamp: `2025-01-01T00:00:0${i}Z`,
          user: { id: `u${i}` },
          source_ip: `10.0.0.${i}`,
          success: true,
        }),
      );
    }
    const t = agg.result();
    expect(t.totals).toMatchObject({
      entries: 10,
      users: 3,
      usersCapped: true,
      sourceIps: 3,
      sourceIpsCapped: true,
    });
    expect(t.firstSeen.rows).toHaveLength(2);
    expect(t.firstSeen.untrackedPairs).toBe(true);
  });
});

it("escapes markup and formats counts for people", () => {
  expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe(
    "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;",
  );
  expect(formatCount(20010)).toBe("20,010");
  expect(formatCount(1234567)).toBe("1,234,567");
});
