import {
  HASH_BYTES,
  inclusionProof,
  LeafHashes,
  leafHash,
  MerkleFrontier,
  merkleRoot,
  rootFromInclusionProof,
} from "@clarifai-audit/client/internal/digest/index.js";

// The leaves of Certificate Transparency's Merkle tree test vectors (RFC 6962 test data).
const CT_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];
const CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

function hashesOf(n: number): Buffer {
  const leaves = new LeafHashes();
  for (let i = 0; i < n; i++) leaves.add(Buffer.from(`{"n":${i}}`));
  return leaves.hashes();
}

test("RFC 6962 hashing: the empty tree, one leaf and CT's eight-leaf vector", () => {
  expect(merkleRoot(Buffer.alloc(0)).toString("hex")).toBe(
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  expect(leafHash(Buffer.alloc(0)).toString("hex")).toBe(
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  );
  const leaves = new LeafHashes();
  for (const hex of CT_LEAVES) leaves.add(Buffer.from(hex, "hex"));
  expect(merkleRoot(leaves.hashes()).toString("hex")).toBe(CT_ROOT_8);
});

test("the frontier's root equals the tree's root at every size, and resumes from its nodes", () => {
  const all = hashesOf(70);
  let frontier = new MerkleFrontier();
  for (let n = 1; n <= 70; n++) {
    frontier.append(all.subarray((n - 1) * HASH_BYTES, n * HASH_BYTES));
    expect(frontier.root().equals(merkleRoot(all, n))).toBe(true);
    if (n % 7 === 0) frontier = MerkleFrontier.of(frontier.size, frontier.nodes());
  }
  expect(() => MerkleFrontier.of(5, [])).toThrow(RangeError);
});

test("every inclusion proof leads to the root, and a wrong leaf, index or size does not", () => {
  for (const size of [1, 2, 3, 5, 8, 13, 33]) {
    const hashes = hashesOf(size);
    const root = merkleRoot(hashes);
    for (let i = 0; i < size; i++) {
      const leaf = hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
      const proof = inclusionProof(hashes, i);
      expect(rootFromInclusionProof(leaf, i, size, proof)?.equals(root)).toBe(true);
      if (size > 1) {
        expect(rootFromInclusionProof(leaf, (i + 1) % size, size, proof)?.equals(root) ?? false).toBe(false);
        expect(rootFromInclusionProof(leafHash(Buffer.from("x")), i, size, proof)?.equals(root)).toBe(false);
      }
      // A proof is checked against the signed size: one size too large walks a longer path.
      if ((size & (size - 1)) === 0 && size > 1)
        expect(rootFromInclusionProof(leaf, i, size * 2, proof)).toBeUndefined();
    }
  }
});
