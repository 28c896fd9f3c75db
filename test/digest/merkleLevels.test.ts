/**
 * The level-by-level Merkle root (packages/client/src/digest/merkle.ts) against RFC 6962 §2.1's
 * definition written out recursively here, at every size up to 300 and at sizes around powers of
 * two; the one-shot leaf hash against SHA-256(0x00 || leaf) by a Hash object.
 */
import { createHash } from "node:crypto";
import {
  HASH_BYTES,
  LeafHashes,
  leafHash,
  MerkleFrontier,
  merkleRoot,
  nodeHash,
} from "@clarifai-audit/client/internal/digest/index.js";

/** MTH(D[from, to)) as RFC 6962 §2.1 defines it. */
function reference(hashes: Buffer, from: number, to: number): Buffer {
  const n = to - from;
  if (n === 0) return createHash("sha256").digest();
  if (n === 1) return hashes.subarray(from * HASH_BYTES, (from + 1) * HASH_BYTES);
  let k = 1;
  while (k * 2 < n) k *= 2;
  const left = reference(hashes, from, from + k);
  const right = reference(hashes, from + k, to);
  return createHash("sha256")
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
}

test("merkleRoot is RFC 6962's MTH at every size up to 300 and around powers of two", () => {
  const leaves = new LeafHashes();
  for (let i = 0; i < 1100; i++) leaves.add(Buffer.from(`{"n":${i},"pad":"${"x".repeat(i % 97)}"}`));
  const all = leaves.hashes();
  const sizes = [...Array.from({ length: 301 }, (_, i) => i), 511, 512, 513, 1023, 1024, 1025, 1100];
  for (const n of sizes)
    expect([n, merkleRoot(all, n).toString("hex")]).toEqual([n, reference(all, 0, n).toString("hex")]);
  const frontier = new MerkleFrontier();
  frontier.appendAll(all, 1100);
  expect(frontier.root().equals(reference(all, 0, 1100))).toBe(true);
});

test("leaf and node hashes are SHA-256 with RFC 6962's prefixes, for short and long leaves", () => {
  for (const size of [0, 1, 31, 64, 65, 1000, 70_000, 200_000]) {
    const bytes = Buffer.alloc(size + 10, 0xe9);
    const expected = createHash("sha256")
      .update(Buffer.from([0]))
      .update(bytes.subarray(5, 5 + size))
      .digest();
    expect(leafHash(bytes, 5, 5 + size).equals(expected)).toBe(true);
  }
  const a = leafHash(Buffer.from("a"));
  const b = leafHash(Buffer.from("b"));
  const node = createHash("sha256")
    .update(Buffer.from([1]))
    .update(a)
    .update(b)
    .digest();
  expect(nodeHash(a, b).equals(node)).toBe(true);
});
