/**
 * The verifier's one pass over an export (packages/cli/src/verify/ranges.ts): fed in chunks of any
 * size, each range's hash, leaves and lines are those of the range read whole.
 */
import { createHash } from "node:crypto";
import { forEachLeaf, type LeafFormat, LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { type ByteRange, type RangeResult, RangeWalker } from "../../packages/cli/src/verify/ranges.js";
import { entryLines } from "./fixtures.js";

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A JSON Lines and a JSON array export's text and its commits' ranges. */
function exportText(format: LeafFormat, batches: number[]): { text: Buffer; ranges: ByteRange[] } {
  const entries = entryLines(batches.reduce((a, b) => a + b, 0));
  const parts = [format === "json" ? "[" : ""];
  let next = 0;
  for (const [b, n] of batches.entries()) {
    const lines = entries.slice(next, next + n);
    next += n;
    parts.push(
      format === "json" ? `${b > 0 ? ",\n" : "\n"}${lines.join(",\n")}` : lines.map((l) => `${l}\n`).join(""),
    );
  }
  parts.push(format === "json" ? "\n]\n" : "");
  const ranges: ByteRange[] = [];
  let offset = 0;
  for (const p of parts) {
    const bytes = Buffer.byteLength(p);
    ranges.push({ offset, bytes });
    offset += bytes;
  }
  return { text: Buffer.from(parts.join("")), ranges };
}

/** What each range holds, read whole: hash, leaf hashes, the line of each leaf. */
function expected(format: LeafFormat, text: Buffer, ranges: ByteRange[]) {
  return ranges.map((r) => {
    const leaves = new LeafHashes();
    const lines: number[] = [];
    forEachLeaf(
      format,
      text,
      (s, e) => {
        leaves.add(text, s, e);
        lines.push(text.subarray(0, s).toString("latin1").split("\n").length);
      },
      r.offset,
      r.offset + r.bytes,
    );
    return {
      sha256: createHash("sha256")
        .update(text.subarray(r.offset, r.offset + r.bytes))
        .digest("hex"),
      leaves: leaves.hashes().toString("hex"),
      lines,
    };
  });
}

test.each([
  ["jsonl", [3, 4, 0, 2, 1]],
  ["json", [2, 1, 3, 1]],
] as const)("%s: chunks of every size give each range's bytes, leaves and lines", (format, batches) => {
  const { text, ranges } = exportText(format, [...batches]);
  const want = expected(format, text, ranges);
  const random = seeded(7);
  for (const max of [1, 2, 7, 64, 300, 5000]) {
    const got: { sha256: string; leaves: string; lines: number[] }[] = [];
    const walker = new RangeWalker(format, ranges, (r: RangeResult) => {
      got.push({
        sha256: r.sha256,
        leaves: r.leaves.hashes().toString("hex"),
        lines: [...r.lines.subarray(0, r.leaves.count)],
      });
      expect(r.complete).toBe(true);
    });
    for (let at = 0; at < text.length; ) {
      const n = Math.max(1, Math.ceil(random() * max));
      expect(walker.push(text.subarray(at, at + n))).toBe(true);
      at += n;
    }
    walker.end();
    expect(got).toEqual(want);
    expect(walker.extra).toBeUndefined();
  }
});

test("bytes past the last range: where they start; a file that ends early: the range is incomplete", () => {
  const { text, ranges } = exportText("jsonl", [2, 2]);
  const walker = new RangeWalker("jsonl", ranges, () => {});
  expect(walker.push(Buffer.concat([text, Buffer.from('{"x":1}\n')]))).toBe(false);
  expect(walker.extra).toEqual({ offset: text.length, line: 5 });
  const results: RangeResult[] = [];
  const short = new RangeWalker("jsonl", ranges, (r) => results.push(r));
  short.push(text.subarray(0, text.length - 5));
  short.end();
  expect(results.map((r) => r.complete)).toEqual([true, true, false]);
  expect(results[2]?.cut).toBe(true);
});
