/**
 * The chain's tree recomputed from the leaves found, digest by digest: each commit's root over its
 * own leaves, and the cumulative tree (size and root) each digest signed. Both grow as leaves arrive
 * (two frontiers: a commit's root is the root of a tree of its leaves alone), so leaves can be fed
 * in batches while the file is read, and nothing per leaf is kept unless proofs are asked for.
 */
import type { DigestDocument } from "@clarifai-audit/client/internal/digest/document.js";
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { HASH_BYTES, hashAt, MerkleFrontier } from "@clarifai-audit/client/internal/digest/merkle.js";
import type { LoadedDigest } from "./chain.js";
import { fail } from "./problem.js";

/** What a digest's close needs of it. */
export type TreeDigest = Pick<LoadedDigest, "name" | "shown"> & {
  doc: { digest: Pick<DigestDocument["digest"], "entries" | "root" | "tree"> };
};

/** Where the data checks put the leaves they find: a {@link ChainTree} here or in a worker thread. */
export interface LeafTree {
  /** Leaves added so far. */
  readonly size: number;
  /** Adds `count` leaf hashes (end to end) of the current commit. */
  add(hashes: Uint8Array, count?: number): void;
  /** Ends the commit of `d` (see {@link ChainTree.close}). */
  close(d: TreeDigest): void;
  /** Resolves once every add and close so far is checked. @throws NotVerified the first problem */
  settle(): Promise<void>;
}

/** See the module comment. */
export class ChainTree implements LeafTree {
  readonly #frontier = new MerkleFrontier();
  #commit = new MerkleFrontier();
  /** Every leaf hash of the chain, in order (when kept). */
  readonly all: LeafHashes | undefined;

  constructor(keepAll: boolean) {
    this.all = keepAll ? new LeafHashes() : undefined;
  }

  /** Leaves found so far. */
  get size(): number {
    return this.#frontier.size;
  }

  /** Adds `count` leaf hashes (end to end) of the current commit. */
  add(hashes: Uint8Array, count = hashes.length / HASH_BYTES): void {
    this.#commit.appendAll(hashes, count);
    this.#frontier.appendAll(hashes, count);
    if (this.all !== undefined) for (let i = 0; i < count; i++) this.all.addHash(hashAt(hashes, i));
  }

  /**
   * Ends the commit of `d`: its root over the leaves added since the last close, and the tree.
   * @throws NotVerified digest-invalid (a root its entries do not give), chain-broken (the tree).
   */
  close(d: TreeDigest): void {
    const body = d.doc.digest;
    const at = { digest: d.name };
    const leaves = this.#commit;
    this.#commit = new MerkleFrontier();
    if (leaves.size !== body.entries)
      fail(
        "digest-invalid",
        d.shown,
        `${d.shown} lists ${body.entries} entries; its files hold ${leaves.size}`,
        at,
      );
    const root = leaves.root().toString("hex");
    if (root !== body.root)
      fail(
        "digest-invalid",
        d.shown,
        `${d.shown}: its root ${body.root} is not the Merkle root of its ${leaves.size} entries (${root})`,
        at,
      );
    const tree = this.#frontier.root().toString("hex");
    if (this.#frontier.size !== body.tree.size || tree !== body.tree.root)
      fail(
        "chain-broken",
        d.shown,
        `${d.shown}: its tree (${body.tree.size} entries, root ${body.tree.root}) is not the tree of the chain's ${this.#frontier.size} entries so far (root ${tree})`,
        at,
      );
  }

  /** Everything is checked as it is added. */
  settle(): Promise<void> {
    return Promise.resolve();
  }
}
