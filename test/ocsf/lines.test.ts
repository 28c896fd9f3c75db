/**
 * The exporters' byte-level OCSF page writer (packages/client/src/ocsf/lines.ts) against the text
 * mapping: the same bytes as `ocsfEventJsonOfLine` of each line, whatever the text holds (quotes, backslashes, escapes,
 * non-ASCII, bytes that are not UTF-8: raw_data is escaped from the line's bytes).
 */
import { describe, expect, test } from "@jest/globals";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { JsonlPageEncoder } from "../../packages/client/src/codec/index.js";
import { lineBytesKey } from "../../packages/client/src/domain/entryKey.js";
import { ocsfEventJsonOfLine } from "../../packages/client/src/ocsf/index.js";
import { OcsfPageEncoder, ocsfLinesOfJsonl } from "../../packages/client/src/ocsf/lines.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { entryOf } from "./ocsfHelpers.js";

/** A page as the engine holds it: the entries serialized one after another in one buffer. */
function pageOf(serialized: Uint8Array[]): { source: Buffer; start: number; end: number }[] {
  const source = Buffer.concat(serialized);
  let start = 0;
  return serialized.map((b) => {
    const range = { source, start, end: start + b.length };
    start += b.length;
    return range;
  });
}

/** The page's OCSF text by the text mapping, line by line. */
function expectedOf(jsonl: Buffer, ends: readonly number[]): string {
  let text = "";
  let start = 0;
  for (const end of ends) {
    const line = jsonl.toString("utf8", start, end);
    text += `${ocsfEventJsonOfLine(line, { entryId: lineBytesKey(jsonl, start, end) })}\n`;
    start = end + 1;
  }
  return text;
}

/** Byte for byte (latin1: one character a byte, so a failure still shows where). */
function expectBytes(got: Buffer, expected: string): void {
  expect(got.toString("latin1")).toBe(Buffer.from(expected, "utf8").toString("latin1"));
}

function expectSameAsText(serialized: Uint8Array[]): string {
  const page = pageOf(serialized);
  const ends: number[] = [];
  const jsonl = Buffer.from(new JsonlPageEncoder().encodeLines(page, ends));
  const expected = expectedOf(jsonl, ends);
  expectBytes(ocsfLinesOfJsonl(jsonl, ends), expected);
  return expected;
}

describe("ocsfLinesOfJsonl", () => {
  test("the emulator's log: the text mapping's bytes", () => {
    const serialized = generateEntries(3000, 17).map((e) => AuditLogEntry.encode(e).finish());
    const text = expectSameAsText(serialized);
    expect(text.split("\n")).toHaveLength(3001);
  });

  test("quotes, backslashes, control characters and non-ASCII in the line", () => {
    const odd = 'a "quoted" \\ back\\slash \u0001 ctl \n\t nl é 😀 \u2028 \u007f';
    const entry = entryOf(101, {
      description: odd,
      details: [odd, "\\u0041"],
      user: { id: "zoë", firstName: 'Zoë "Z"', lastName: "\\", primaryEmail: "z@example.com" } as never,
    });
    const text = expectSameAsText([AuditLogEntry.encode(entry).finish()]);
    const event = JSON.parse(text) as { raw_data: string; message: string };
    expect(event.message).toBe(odd);
    expect(JSON.parse(event.raw_data).description).toBe(odd);
  });

  test("a string field that is not UTF-8: the same replacement characters as the text mapping", () => {
    const entry = entryOf(101, { description: "MARKER-abc" });
    const bytes = Buffer.from(AuditLogEntry.encode(entry).finish());
    const at = bytes.indexOf("MARKER-abc");
    bytes[at + 7] = 0xff;
    bytes[at + 8] = 0xc3;
    const text = expectSameAsText([bytes, AuditLogEntry.encode(entryOf(100)).finish()]);
    expect(text).toContain("MARKER-\ufffd");
  });

  test("lines of other writers: whitespace that is a control character, bytes that are not UTF-8", () => {
    // Valid JSON that escaping `"` and `\\` alone would not render as JSON.stringify does.
    const lines = [
      Buffer.from('{"timestamp":"2025-01-01T00:00:00Z",\t"operation":100,"description":"tab"}'),
      Buffer.concat([
        Buffer.from('{"operation":100,"description":"bad '),
        Buffer.from([0xff, 0xc3]),
        Buffer.from('"}'),
      ]),
    ];
    const jsonl = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]));
    const ends = [lines[0]?.length ?? 0, jsonl.length - 1];
    const bytes = ocsfLinesOfJsonl(jsonl, ends);
    expectBytes(bytes, expectedOf(jsonl, ends));
    const text = bytes.toString("utf8");
    const [first, second] = text.split("\n").map((l) => (l === "" ? undefined : JSON.parse(l)));
    expect(first.raw_data).toContain(',\t"operation"');
    expect(second.message).toBe("bad \ufffd\ufffd");
  });

  test("one encoder, pages of growing and shrinking size: each page its own bytes", () => {
    const encoder = new OcsfPageEncoder();
    const all = generateEntries(700, 23).map((e) => AuditLogEntry.encode(e).finish());
    for (const [from, to] of [
      [0, 5],
      [5, 600],
      [600, 610],
    ] as const) {
      const page = pageOf(all.slice(from, to));
      const ends: number[] = [];
      const jsonl = Buffer.from(new JsonlPageEncoder().encodeLines(page, ends));
      expectBytes(encoder.encode(jsonl, ends), expectedOf(jsonl, ends));
    }
  });

  test("an empty page writes nothing", () => {
    expect(ocsfLinesOfJsonl(Buffer.alloc(0), []).length).toBe(0);
  });
});
