/**
 * The export readers (`report --input`, `rules test --input`) are linear in the input's size and
 * bounded per line (packages/client/src/domain/lines.ts): one 20 MiB line, in gzip too, is refused naming the line,
 * 48 MB of whitespace before the first entry reads as the entry, and a line that is JSON but not an
 * audit-log entry is refused naming the file and line (one definition of an entry for both readers).
 * No timings are asserted: the quadratic reader took minutes on these files and failed by timeout.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { InputError, readExportFile } from "../../packages/cli/src/report/input.js";
import { replayExport } from "../../packages/cli/src/watch/replay.js";
import { LineSplitter, LineTooLongError, MAX_LINE_CHARS } from "../../packages/client/src/domain/lines.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clarifai-audit-input-bounds-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENTRY = JSON.stringify({
  timestamp: "2024-03-01T10:00:00.123456789Z",
  user: { id: "alice" },
  operation: "APP_CREATE",
  success: true,
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function report(path: string): Promise<number> {
  let n = 0;
  await readExportFile(path, () => n++);
  return n;
}

async function replay(path: string): Promise<number> {
  return (await replayExport([], path, () => undefined)).entries;
}

// One 20 MiB line: `{"description":"aaaa…` with no end, as cheap to make as it gets.
const longLine = `{"description":"${"a".repeat(20 * 1024 * 1024)}`;

describe.each([
  ["report", report, InputError],
  ["rules test", replay, InputError],
] as const)("%s reader", (_name, read, Err) => {
  it.each([
    ["plain", "long.jsonl", () => longLine],
    ["gzip", "long.jsonl.gz", () => gzipSync(longLine, { level: 1 })],
  ])("a 20 MiB line (%s) is refused as one line naming file and line", async (_kind, name, content) => {
    const path = file(`${_name}-${name}`, content());
    const error = await read(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Err);
    expect(error).toMatchObject({ input: "input", problem: expect.stringMatching(/^\//) });
    expect((error as Error).message).toBe(
      `\`input\`: ${path}: line 1: longer than 16 MiB (the most an entry may take); not an export`,
    );
  });

  it.each([
    ["plain", "ws.jsonl", (t: string) => t],
    ["gzip", "ws.jsonl.gz", (t: string) => gzipSync(t, { level: 1 })],
  ])("48 MB of leading whitespace (%s) then entries reads the entries", async (_kind, name, make) => {
    // Spaces with a newline every 64 KiB, and one long run of spaces with none: the whitespace a
    // 300 KB .gz can hold (the old reader re-joined and re-trimmed it per chunk, for hours).
    const ws = `${`${" ".repeat(65536)}\n`.repeat(700)}${" ".repeat(2_400_000)}`;
    const path = file(`${_name}-${name}`, make(`${ws}${ENTRY}\n${ENTRY}\n`));
    expect(await read(path)).toBe(2);
  });

  it("a JSON line that is not an audit-log entry is refused naming file and line", async () => {
    const path = file(`${_name}-hello.jsonl`, `${ENTRY}\n\n{"hello":1}\n`);
    const error = await read(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Err);
    expect((error as Error).message).toBe(
      `\`input\`: ${path}: line 3: not an audit-log entry: unknown field "hello" (an audit-log entry has timestamp, user, operation, description, targets, details, success, req_id, source_ip)`,
    );
  });

  it("a line numbered after leading blank lines is numbered as in the file", async () => {
    const path = file(`${_name}-blank.jsonl`, `\n\n   \n${ENTRY}\n{"timestamp":5}\n`);
    const error = await read(path).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/: line 5: not an audit-log entry: /);
  });
});

it("rules test refuses an element of a one-line JSON array that is not an entry, naming its line", async () => {
  const path = file("array.json", `[${ENTRY}, {"hello": 1}]`);
  await expect(replay(path)).rejects.toThrow(
    `\`input\`: ${path}: line 1: not an audit-log entry: unknown field "hello"`,
  );
});

it("LineSplitter: lines across chunks, CRLF, a last line without newline, the limit", () => {
  const s = new LineSplitter(0, 10);
  expect(s.push("ab")).toEqual([]);
  expect(s.push("c\r\nde\nf")).toEqual([
    { line: 1, text: "abc" },
    { line: 2, text: "de" },
  ]);
  expect(s.end()).toEqual({ line: 3, text: "f" });
  const t = new LineSplitter(4, 10);
  t.push("12345");
  expect(() => t.push("678901")).toThrow(new LineTooLongError(5));
  expect(MAX_LINE_CHARS).toBe(16 * 1024 * 1024);
});

it("rules test: a directory as --input is one line, not a raw EISDIR", async () => {
  await expect(replay(dir)).rejects.toThrow(new InputError(`cannot read ${dir} (is a directory)`));
});
