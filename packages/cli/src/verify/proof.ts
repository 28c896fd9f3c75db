/**
 * Inclusion proofs of single entries: made from the chain's leaves (the entry's leaf, its audit
 * path, the newest digest whose tree root it leads to), and checked from the document alone (the
 * root the path leads to, the digest's signature by a key given), so an auditor can check one entry
 * without the log.
 */
import {
  type DigestDocument,
  digestHash,
  digestName,
  validateDigest,
} from "@clarifai-audit/client/internal/digest/document.js";
import type { VerifyingKey } from "@clarifai-audit/client/internal/digest/keys.js";
import type { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import {
  HASH_BYTES,
  inclusionProof,
  leafHash,
  rootFromInclusionProof,
} from "@clarifai-audit/client/internal/digest/merkle.js";
import { StateFileError } from "@clarifai-audit/client/internal/state/stateReader.js";
import { checkSignatures, type LoadedDigest } from "./chain.js";
import { fail } from "./problem.js";
import type { InclusionProofDocument } from "./types.js";

export const PROOF_KIND = "clarifai-audit-inclusion-proof";

/** The index of the first leaf `hash` in `all`, or -1. */
function indexOf(all: LeafHashes, hash: Buffer): number {
  const hashes = all.hashes();
  for (let i = 0; i < all.count; i++)
    if (hashes.compare(hash, 0, HASH_BYTES, i * HASH_BYTES, (i + 1) * HASH_BYTES) === 0) return i;
  return -1;
}

/**
 * The proof of `entry` against `head` (the newest digest), whose tree is `all`'s leaves.
 * @throws NotVerified entry-not-found.
 */
export function makeProof(
  entry: string,
  all: LeafHashes,
  head: LoadedDigest,
  shown: string,
): InclusionProofDocument {
  const leaf = leafHash(Buffer.from(entry, "utf8"));
  const index = indexOf(all, leaf);
  if (index < 0)
    fail(
      "entry-not-found",
      shown,
      `${shown}: the entry ${JSON.stringify(entry.length > 200 ? `${entry.slice(0, 200)}…` : entry)} is not in the log (no entry of its ${all.count} has its bytes)`,
      { digest: head.name },
    );
  const path = inclusionProof(all.hashes(), index, all.count);
  return {
    kind: PROOF_KIND,
    version: 1,
    entry,
    leafIndex: index,
    treeSize: all.count,
    leafHash: leaf.toString("hex"),
    auditPath: path.map((p) => p.toString("hex")),
    digestName: head.name,
    digestHash: head.hash,
    digest: head.doc,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Checks a proof document (`source` names it): its shape, its digest (valid, signed by a key
 * given, of hash `expectHead` when given) and that its path leads from the entry's leaf to the
 * digest's tree root.
 * @throws NotVerified proof-invalid, digest-invalid, key-unknown, signature-invalid, head-not-found.
 */
export async function checkProof(
  value: unknown,
  source: string,
  keys: readonly VerifyingKey[],
  expectHead?: string,
): Promise<{ leafIndex: number; treeSize: number; digest: { seq: number; hash: string } }> {
  const bad = (what: string): never => fail("proof-invalid", source, `${source}: ${what}`);
  const p = value as Partial<InclusionProofDocument> | null;
  if (typeof p !== "object" || p === null || p.kind !== PROOF_KIND)
    bad("is not an inclusion proof of clarifai-audit");
  const doc = p as Partial<InclusionProofDocument>;
  if (doc.version !== 1) bad(`is a proof of version ${String(doc.version)} (this verify reads version 1)`);
  if (typeof doc.entry !== "string") bad("has no entry");
  if (!Number.isSafeInteger(doc.leafIndex) || !Number.isSafeInteger(doc.treeSize))
    bad("has no leaf index or tree size");
  if (!Array.isArray(doc.auditPath) || doc.auditPath.some((h) => typeof h !== "string" || !HEX64.test(h)))
    bad("has an audit path that is not a list of SHA-256 hashes in hex");
  let digest: DigestDocument;
  try {
    digest = await validateDigest(doc.digest, `${source}: its digest`);
  } catch (error) {
    if (error instanceof StateFileError) fail("digest-invalid", source, error.message);
    throw error;
  }
  const name = digestName(digest.digest.seq);
  const hash = digestHash(digest.digest);
  checkSignatures(digest, keys, source, `${source}: its digest ${name}`, { digest: name });
  if (expectHead !== undefined && expectHead.trim().toLowerCase() !== hash)
    fail(
      "head-not-found",
      source,
      `${source}: its digest ${name} has hash ${hash}, not the expected head ${expectHead.trim().toLowerCase()}`,
      { digest: name },
    );
  const entry = doc.entry as string;
  const leaf = leafHash(Buffer.from(entry, "utf8"));
  const size = doc.treeSize as number;
  if (size !== digest.digest.tree.size)
    bad(`its tree size ${size} is not its digest ${name}'s (${digest.digest.tree.size})`);
  const root = rootFromInclusionProof(
    leaf,
    doc.leafIndex as number,
    size,
    (doc.auditPath as string[]).map((h) => Buffer.from(h, "hex")),
  );
  if (root?.toString("hex") !== digest.digest.tree.root)
    bad(
      `the entry at leaf ${doc.leafIndex} does not lead to the tree root ${name} signed: the entry or its proof was changed`,
    );
  return { leafIndex: doc.leafIndex as number, treeSize: size, digest: { seq: digest.digest.seq, hash } };
}
