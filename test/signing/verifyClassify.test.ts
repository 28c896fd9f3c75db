/** The pure naming of the entry that differs (packages/cli/src/verify/classify.ts). */
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { classifyLeaves, isPrefix, type LeafLists } from "../../packages/cli/src/verify/classify.js";

function lists(found: string[], signed: string[]): LeafLists {
  const f = new LeafHashes();
  for (const x of found) f.add(Buffer.from(x));
  const s = new LeafHashes();
  for (const x of signed) s.add(Buffer.from(x));
  const expected = Buffer.from(s.prefixes(), "base64");
  return { found: f.hashes(), foundCount: f.count, expected, expectedCount: s.count };
}

const SIGNED = ["a", "b", "c", "d", "e"];

test.each([
  ["the same entries", SIGNED, undefined],
  ["one changed", ["a", "b", "X", "d", "e"], { kind: "entry-changed", found: 2 }],
  ["one inserted", ["a", "X", "b", "c", "d", "e"], { kind: "entry-inserted", found: 1 }],
  ["one appended", [...SIGNED, "X"], { kind: "entry-inserted", found: 5 }],
  ["one deleted", ["a", "b", "d", "e"], { kind: "entry-deleted", found: 2 }],
  ["the last deleted", ["a", "b", "c", "d"], { kind: "entry-deleted", found: 4 }],
  ["two swapped", ["a", "c", "b", "d", "e"], { kind: "entry-reordered", found: 1 }],
  ["one moved to the end", ["a", "c", "d", "e", "b"], { kind: "entry-reordered", found: 1 }],
  ["the first changed", ["X", "b", "c", "d", "e"], { kind: "entry-changed", found: 0 }],
  ["two in a row deleted", ["a", "d", "e"], { kind: "entry-deleted", found: 1 }],
])("%s", (_, found, want) => {
  const got = classifyLeaves(lists(found, SIGNED));
  expect(got === undefined ? undefined : { kind: got.kind, found: got.found }).toEqual(want);
});

test("isPrefix: the first found are the first signed", () => {
  expect(isPrefix(lists(["a", "b"], SIGNED))).toBe(true);
  expect(isPrefix(lists(["a", "X"], SIGNED))).toBe(false);
  expect(isPrefix(lists(["a", "X"], SIGNED), 1)).toBe(true);
  expect(isPrefix(lists([...SIGNED, "f"], SIGNED))).toBe(false);
});
