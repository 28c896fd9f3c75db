/**
 * The signer's side of a chain of digests: one per commit, each carrying the hash and signatures of
 * the one before it and the frontier of the tree over every entry so far, so that a signer that
 * restarts continues the chain from its newest committed digest alone. Where the digest is written
 * (in the same commit as its data) is the destination's business.
 */
import { AuditUsageError } from "../domain/errors.js";
import {
  DIGEST_KIND,
  DIGEST_VERSION,
  type DigestBody,
  type DigestDocument,
  type DigestFile,
  type DigestLog,
  type DigestTimestamp,
  digestHash,
  digestName,
  serializeDigest,
} from "./document.js";
import { type SigningKey, signDigest } from "./keys.js";
import type { LeafHashes } from "./leaves.js";
import { MerkleFrontier, merkleRoot } from "./merkle.js";

/** Asks a time-stamping authority for a token over a digest's hash (32 bytes, SHA-256). */
export type Stamper = (hash: Buffer) => Promise<DigestTimestamp>;

/** How a destination signs its commits. */
export interface SignOptions {
  /** The keys each digest is signed with: one, or two while changing keys (old and new). */
  keys: readonly SigningKey[];
  /** A time-stamping authority's token on each digest (RFC 3161), when asked. */
  stamp?: Stamper;
}

/** What a commit wrote, for its digest. */
export interface DigestParts {
  identity: Record<string, unknown>;
  window?: { from: string; to: string };
  cursor: unknown;
  files: DigestFile[];
  /** The commit's leaf hashes, in the order of `files` and of the entries in them. */
  leaves: LeafHashes;
  complete?: boolean;
}

/** A digest ready to be written. */
export interface NextDigest {
  document: DigestDocument;
  /** The file's text ({@link serializeDigest}). */
  text: string;
  /** Its hash (hex): the chain's head once committed. */
  hash: string;
  /** Its file name ({@link digestName}). */
  name: string;
}

/** A chain the keys given cannot continue (`input`: the signing option). */
export class DigestChainError extends AuditUsageError {
  override name = "DigestChainError";
}

/** See the module comment. */
export class DigestChain {
  readonly #log: DigestLog;
  readonly #options: SignOptions;
  readonly #now: () => number;
  #head: DigestDocument | undefined;
  #headHash: string | undefined;
  #tree: MerkleFrontier;

  /**
   * A chain continuing from `head` (its newest committed digest; undefined for a new chain), whose
   * `hash` the caller's state recorded.
   * @throws DigestChainError when no key given signed `head` (a key change needs one digest signed
   * by both keys), or `head` is of another kind of log.
   */
  constructor(
    log: DigestLog,
    options: SignOptions,
    head?: { document: DigestDocument; hash: string },
    now = Date.now,
  ) {
    if (options.keys.length === 0 || options.keys.length > 8)
      throw new DigestChainError({ input: "sign", problem: "takes one to eight keys" });
    const ids = options.keys.map((k) => k.keyId);
    if (new Set(ids).size !== ids.length)
      throw new DigestChainError({ input: "sign", problem: "names the same key twice" });
    this.#log = log;
    this.#options = options;
    this.#now = now;
    if (head === undefined) {
      this.#tree = new MerkleFrontier();
      return;
    }
    const d = head.document.digest;
    if (d.log !== log)
      throw new DigestChainError({
        input: "sign",
        problem: `the chain's digests are of a ${d.log}, not a ${log}`,
      });
    if (!ids.some((id) => d.keyIds.includes(id)))
      throw new DigestChainError(
        { input: "sign", problem: `the chain is signed by key ${d.keyIds.join(" and ")}` },
        `\`sign\`: the chain's newest digest (${digestName(d.seq)}) is signed by key ${d.keyIds.join(" and ")}, not by ${ids.join(" or ")}; to change keys, sign one run with both the old and the new key`,
      );
    this.#head = head.document;
    this.#headHash = head.hash;
    this.#tree = MerkleFrontier.of(d.tree.size, d.tree.frontier);
  }

  /** The newest digest (committed or about to be), if any. */
  get head(): { seq: number; hash: string } | undefined {
    return this.#head === undefined
      ? undefined
      : { seq: this.#head.digest.seq, hash: this.#headHash as string };
  }

  /** Entries in the chain's tree. */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * The next digest, signed (and stamped when asked); the chain's head moves to it. The caller
   * writes `text` under `name` in the same commit as the data it describes.
   */
  async next(parts: DigestParts): Promise<NextDigest> {
    const leaves = parts.leaves;
    const hashes = leaves.hashes();
    this.#tree.appendAll(hashes, leaves.count);
    const prev = this.#head;
    const body: DigestBody = {
      kind: DIGEST_KIND,
      version: DIGEST_VERSION,
      log: this.#log,
      seq: (prev?.digest.seq ?? 0) + 1,
      createdAt: new Date(this.#now()).toISOString(),
      identity: parts.identity,
      ...(parts.window !== undefined ? { window: { from: parts.window.from, to: parts.window.to } } : {}),
      cursor: parts.cursor ?? null,
      files: parts.files,
      entries: leaves.count,
      root: merkleRoot(hashes, leaves.count).toString("hex"),
      leaves: leaves.prefixes(),
      tree: { size: this.#tree.size, root: this.#tree.root().toString("hex"), frontier: this.#tree.nodes() },
      previous: prev === undefined ? null : { sha256: this.#headHash as string, signatures: prev.signatures },
      keyIds: this.#options.keys.map((k) => k.keyId),
      ...(parts.complete ? { complete: true } : {}),
    };
    const hash = digestHash(body);
    const document: DigestDocument = { digest: body, signatures: signDigest(body, this.#options.keys) };
    if (this.#options.stamp !== undefined)
      document.timestamp = await this.#options.stamp(Buffer.from(hash, "hex"));
    this.#head = document;
    this.#headHash = hash;
    return { document, text: serializeDigest(document), hash, name: digestName(body.seq) };
  }
}
