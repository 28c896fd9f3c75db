/**
 * Names the entry that differs: the leaves found in a file (or a range of one) against the 8-byte
 * prefixes of the leaves its digest signed (`leaves`). Pure: hashes in, a kind and a position out.
 */

import { LEAF_PREFIX_BYTES } from "@clarifai-audit/client/internal/digest/leaves.js";
import { HASH_BYTES } from "@clarifai-audit/client/internal/digest/merkle.js";

/** How the found leaves differ from the signed ones. */
export type EntryDifference =
  /** `found` is an entry the digest does not hold at `expected` (it replaced that entry). */
  | { kind: "entry-changed"; found: number; expected: number }
  /** `found` is an entry the digest does not hold; the one signed at `expected` comes later. */
  | { kind: "entry-inserted"; found: number; expected: number }
  /** The entry signed at `expected` is not there; `found` is where it was due. */
  | { kind: "entry-deleted"; found: number; expected: number }
  /** `found` is a signed entry out of place: the one signed at `expected` comes later. */
  | { kind: "entry-reordered"; found: number; expected: number };

/** Found leaf hashes (32 bytes each, end to end) and signed prefixes (8 bytes each, end to end). */
export interface LeafLists {
  found: Uint8Array;
  foundCount: number;
  expected: Uint8Array;
  expectedCount: number;
}

function same(l: LeafLists, f: number, e: number): boolean {
  const a = f * HASH_BYTES;
  const b = e * LEAF_PREFIX_BYTES;
  for (let k = 0; k < LEAF_PREFIX_BYTES; k++) if (l.found[a + k] !== l.expected[b + k]) return false;
  return true;
}

/** The first found index ≥ `from` whose leaf is signed entry `e`, or -1. */
function foundLater(l: LeafLists, e: number, from: number): number {
  for (let f = from; f < l.foundCount; f++) if (same(l, f, e)) return f;
  return -1;
}

/** The first signed index ≥ `from` that found leaf `f` is, or -1. */
function expectedLater(l: LeafLists, f: number, from: number): number {
  for (let e = from; e < l.expectedCount; e++) if (same(l, f, e)) return e;
  return -1;
}

/** The first index where the lists differ, or undefined when they are the same entries. */
export function firstDifference(l: LeafLists): number | undefined {
  const n = Math.min(l.foundCount, l.expectedCount);
  for (let i = 0; i < n; i++) if (!same(l, i, i)) return i;
  return l.foundCount === l.expectedCount ? undefined : n;
}

/** Whether the found leaves are the first `foundCount` signed ones. */
export function isPrefix(l: LeafLists, count = l.foundCount): boolean {
  if (count > l.expectedCount) return false;
  for (let i = 0; i < count; i++) if (!same(l, i, i)) return false;
  return true;
}

/**
 * Classifies the first difference: undefined when the found leaves are exactly the signed ones.
 * An extra leaf at the end is an insertion, a missing one at the end a deletion.
 */
export function classifyLeaves(l: LeafLists): EntryDifference | undefined {
  const i = firstDifference(l);
  if (i === undefined) return undefined;
  if (i >= l.expectedCount) return { kind: "entry-inserted", found: i, expected: i };
  if (i >= l.foundCount) return { kind: "entry-deleted", found: i, expected: i };
  const foundIsSigned = expectedLater(l, i, i + 1) >= 0;
  const signedComesLater = foundLater(l, i, i + 1) >= 0;
  if (!foundIsSigned)
    return { kind: signedComesLater ? "entry-inserted" : "entry-changed", found: i, expected: i };
  return { kind: signedComesLater ? "entry-reordered" : "entry-deleted", found: i, expected: i };
}
