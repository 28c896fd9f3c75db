/**
 * Reading exports back: JSON Lines (CRLF too), the JSON array `export --format json` writes, any other
 * JSON array layout, gzip recognised by its bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readExportLines } from "../../src/watch/exportReader.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clarifai-audit-reader-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entries = [
  { a: 1, s: "x,y" },
  { a: 2, s: "]" },
  { a: 3, s: "é\u2028" },
].map((e) => JSON.stringify(e));

async function read(name: string, content: string | Buffer): Promise<string[]> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const out: string[] = [];
  for await (const batch of readExportLines(path)) out.push(...batch);
  return out;
}

it.each([
  ["jsonl", `${entries.join("\n")}\n`],
  ["jsonl without a final newline", entries.join("\n")],
  ["jsonl with CRLF", `${entries.join("\r\n")}\r\n`],
  ["export's JSON array", `[\n${entries.join(",\n")}\n]\n`],
  ["an empty JSON array", "[]\n"],
  [
    "a pretty-printed JSON array",
    JSON.stringify(
      entries.map((e) => JSON.parse(e)),
      null,
      2,
    ),
  ],
  ["a one-line JSON array", JSON.stringify(entries.map((e) => JSON.parse(e)))],
])("%s, plain and gzipped", async (_name, content) => {
  const want = content.startsWith("[]") ? [] : entries;
  expect(await read("plain", content)).toEqual(want);
  expect(await read("zipped.jsonl", gzipSync(content))).toEqual(want);
});
