/**
 * The chain's tree recomputed from the leaves found, digest by digest: each commit's root over its
 * own leaves, and the cumulative tree (size and root) each digest signed. Keeps every leaf hash only
 * when proofs are asked for.
 */
import type { DigestDocument } from "@clarifai-audit/client/internal/digest/document.js";
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { hashAt, MerkleFrontier, merkleRoot } from "@clarifai-audit/client/internal/digest/merkle.js";
import type { LoadedDigest } from "./chain.js";
import { fail } from "./problem.js";

/** See the module comment. */
export class ChainTree {
  readonly #frontier = new MerkleFrontier();
  #commit = new LeafHashes();
  /** Every leaf hash of the chain, in order (when kept). */
  readonly all: LeafHashes | undefined;

  constructor(keepAll: boolean) {
    this.all = keepAll ? new LeafHashes() : undefined;
  }

  /** Leaves found so far. */
  get size(): number {
    return this.#frontier.size + this.#commit.count;
  }

  /** Adds a commit's leaves (`leaves` is the tree's from then on: not changed by the caller). */
  add(leaves: LeafHashes): void {
    const hashes = leaves.hashes();
    if (this.all !== undefined) for (let i = 0; i < leaves.count; i++) this.all.addHash(hashAt(hashes, i));
    if (this.#commit.count === 0) this.#commit = leaves;
    else for (let i = 0; i < leaves.count; i++) this.#commit.addHash(hashAt(hashes, i));
  }

  /**
   * Ends the commit of `d`: its root over the leaves added since the last close, and the tree.
   * @throws NotVerified digest-invalid (a root its entries do not give), chain-broken (the tree).
   */
  close(d: LoadedDigest): void {
    const body: DigestDocument["digest"] = d.doc.digest;
    const at = { digest: d.name };
    const leaves = this.#commit;
    if (leaves.count !== body.entries)
      fail(
        "digest-invalid",
        d.shown,
        `${d.shown} lists ${body.entries} entries; its files hold ${leaves.count}`,
        at,
      );
    const root = merkleRoot(leaves.hashes(), leaves.count).toString("hex");
    if (root !== body.root)
      fail(
        "digest-invalid",
        d.shown,
        `${d.shown}: its root ${body.root} is not the Merkle root of its ${leaves.count} entries (${root})`,
        at,
      );
    this.#frontier.appendAll(leaves.hashes(), leaves.count);
    this.#commit = new LeafHashes();
    const tree = this.#frontier.root().toString("hex");
    if (this.#frontier.size !== body.tree.size || tree !== body.tree.root)
      fail(
        "chain-broken",
        d.shown,
        `${d.shown}: its tree (${body.tree.size} entries, root ${body.tree.root}) is not the tree of the chain's ${this.#frontier.size} entries so far (root ${tree})`,
        at,
      );
  }
}
