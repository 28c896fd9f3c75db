/**
 * The one export-file reader (packages/client/src/export/exportFile.ts), behind `report --input` and `rules test
 * --input`: JSON Lines (CRLF too), the JSON array `export --format json` writes, any other JSON
 * array layout, gzip recognised by its bytes. Each record's text is one line: the entry's line as
 * written when it stood alone on its line, else re-printed compactly (a pretty-printed array), so
 * what rules splice into an alert stays one line. Entries that are not audit-log entries are refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ExportFile, InputError } from "../../packages/client/src/export/exportFile.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clarifai-audit-reader-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Strings that trip naive splitters: a comma, a bracket, a line separator.
const entries = [
  { timestamp: "2025-01-01T00:00:00.000000001Z", description: "x,y", user: { id: "alice" } },
  { timestamp: "2025-01-01T00:00:01Z", description: "]", operation: "APP_CREATE", success: true },
  { timestamp: "2025-01-01T00:00:02Z", description: "é\u2028", details: ["a", "b"] },
].map((e) => JSON.stringify(e));

async function read(name: string, content: string | Buffer): Promise<{ texts: string[]; file: ExportFile }> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const file = new ExportFile(path);
  const texts: string[] = [];
  for await (const batch of file) {
    for (const r of batch) {
      expect(r.json).toEqual(JSON.parse(r.text));
      expect(r.entry.timestamp).toBe(r.json.timestamp);
      texts.push(r.text);
    }
  }
  return { texts, file };
}

it.each([
  ["jsonl", `${entries.join("\n")}\n`, "jsonl"],
  ["jsonl without a final newline", entries.join("\n"), "jsonl"],
  ["jsonl with CRLF", `${entries.join("\r\n")}\r\n`, "jsonl"],
  ["export's JSON array", `[\n${entries.join(",\n")}\n]\n`, "json"],
  ["an empty JSON array", "[]\n", "json"],
  [
    "a pretty-printed JSON array",
    JSON.stringify(
      entries.map((e) => JSON.parse(e)),
      null,
      2,
    ),
    "json",
  ],
  ["a one-line JSON array", JSON.stringify(entries.map((e) => JSON.parse(e))), "json"],
  ["a one-line JSON array with spaces", `[${entries.join(", ").replaceAll('":', '": ')}]`, "json"],
])("%s, plain and gzipped", async (_name, content, format) => {
  const want = content.startsWith("[]") ? [] : entries;
  const plain = await read("plain", content);
  expect(plain.texts).toEqual(want);
  expect(plain.file).toMatchObject({ format, gzip: false, entries: want.length });
  const zipped = await read("zipped.jsonl", gzipSync(content));
  expect(zipped.texts).toEqual(want);
  expect(zipped.file).toMatchObject({ format, gzip: true, entries: want.length });
});

it("refuses what is not an export with one InputError naming file and line", async () => {
  const refused = async (name: string, content: string, reader?: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    const error = await (async () => {
      for await (const _ of new ExportFile(path, reader ? { reader } : {}));
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message.replace(path, "FILE");
  };
  expect(await refused("a.jsonl", `${entries[0]}\n{"a":1}\n`)).toBe(
    '`input`: FILE: line 2: not an audit-log entry: unknown field "a" (an audit-log entry has timestamp, user, operation, description, targets, details, success, req_id, source_ip)',
  );
  expect(await refused("b.csv", "timestamp,operation\n", "rules test")).toBe(
    "`input`: FILE: line 1: a CSV export; rules test reads JSONL or JSON exports (export `format` jsonl)",
  );
  expect(await refused("c.json", `[\n${entries[0]},\n{oops}\n]`)).toMatch(
    /^`input`: FILE: line 3: not JSON \(.*\); not an export$/,
  );
});
