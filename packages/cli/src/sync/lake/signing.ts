/**
 * A signed lake (docs/verifiable-logs.md): every commit adds one digest (digest/chain.ts) naming
 * the Parquet files it wrote (their SHA-256, bytes and rows) and the Merkle root over their rows'
 * `entry` lines in the order DuckDB wrote them, chained to the digest before it. The digest is
 * staged under its hidden name before the state file (the commit point) records it as the head and
 * as pending; publication puts it under its final name `_clarifai_digests/000000000001.json` with
 * the data files, and the next open finishes a publication a crash cut short, deletes hidden
 * digests the state does not list and final ones beyond the head. The same on every storage
 * (storage.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { DigestChain, type SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import {
  type DigestDocument,
  type DigestFile,
  digestHash,
  digestName,
  parseDigest,
  seqOfDigestName,
} from "@clarifai-audit/client/internal/digest/document.js";
import type { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { StateFileError } from "@clarifai-audit/client/internal/state/stateReader.js";
import { type SyncState, SyncUsageError } from "../store.js";
import { DIGESTS_DIR, digestPath, isHiddenDigestName, type LakeManifest, tempPath } from "./manifest.js";
import type { StagedRows } from "./schema.js";
import type { LakeStorage } from "./storage.js";

/** SHA-256 (hex) and size of the file at `path` (a commit's Parquet file as DuckDB wrote it). */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** Adds the leaf hash of each of `rows`' lines (its `entry`), in file order, to `leaves`. */
export function addRowLeaves(rows: StagedRows, leaves: LeafHashes): void {
  const { jsonl, ends } = rows;
  for (const line of rows.lines) {
    const start = line === 0 ? 0 : (ends[line - 1] as number) + 1;
    leaves.add(jsonl, start, ends[line]);
  }
}

/** A commit's digest, staged and ready for the state file. */
export interface StagedDigest {
  seq: number;
  hash: string;
  /** `_clarifai_digests/NNNNNNNNNNNN.json` */
  path: string;
}

/** The signer of one lake's commits (its chain continued from the state's head). */
export class LakeSigner {
  readonly #storage: LakeStorage;
  readonly #chain: DigestChain;

  private constructor(storage: LakeStorage, chain: DigestChain) {
    this.#storage = storage;
    this.#chain = chain;
  }

  /**
   * The signer of the lake whose state is `m` (undefined: an empty lake), or undefined without
   * `sign`. Refuses, before anything changes: `sign` on a lake holding unsigned commits, a signed
   * lake without `sign`, a head digest that is missing or not the one the state names, a head no
   * key given signed.
   */
  static async open(
    storage: LakeStorage,
    m: LakeManifest | undefined,
    sign: SignOptions | undefined,
  ): Promise<LakeSigner | undefined> {
    const place = storage.description;
    if (sign === undefined) {
      if (m?.digest !== undefined)
        throw new SyncUsageError({
          input: "sign",
          problem: `${place} is a signed lake (its newest digest is ${digestPath(digestName(m.digest.seq))}): every commit to it is signed; name its key with \`sign\``,
        });
      return undefined;
    }
    if (m !== undefined && m.digest === undefined)
      throw new SyncUsageError({
        input: "sign",
        problem: `${place} holds unsigned commits; a signed lake starts empty (sign a new folder or prefix); nothing was changed`,
      });
    let head: { document: DigestDocument; hash: string } | undefined;
    if (m?.digest !== undefined) head = await readHead(storage, m.digest);
    // A head no key given signed: DigestChainError (`sign`), a usage error.
    return new LakeSigner(storage, new DigestChain("lake", sign, head));
  }

  /** The newest digest, committed or staged. */
  get head(): { seq: number; hash: string } | undefined {
    return this.#chain.head;
  }

  /**
   * Signs the digest of the commit that stores `state` and `signed`'s files (stamped when asked)
   * and stages it under its hidden name; the caller records it in the state file next (crash point
   * `digestStaged` between). Called in publication order.
   */
  async stageCommit(
    state: SyncState,
    signed: { files: DigestFile[]; leaves: LeafHashes },
  ): Promise<StagedDigest> {
    const window = state.run?.cursor.window;
    const next = await this.#chain.next({
      identity: state.identity as unknown as Record<string, unknown>,
      ...(window !== undefined ? { window: { from: window.from, to: window.to } } : {}),
      cursor: state,
      files: signed.files,
      leaves: signed.leaves,
    });
    const path = digestPath(next.name);
    await this.#storage.stageDigest(path, next.text);
    return { seq: next.document.digest.seq, hash: next.hash, path };
  }
}

/** Reads the head digest the state names and checks it is that one (its hash). */
async function readHead(
  storage: LakeStorage,
  head: { seq: number; sha256: string },
): Promise<{ document: DigestDocument; hash: string }> {
  const path = digestPath(digestName(head.seq));
  const where = `${storage.description}/${path}`;
  const bytes = await storage.readDigest(path);
  if (bytes === undefined)
    throw new SyncUsageError(
      `${where} is missing: the state file names it as the lake's newest digest; nothing was changed`,
    );
  let document: DigestDocument;
  try {
    document = await parseDigest(bytes, where);
  } catch (error) {
    if (error instanceof StateFileError) throw new SyncUsageError(`${error.message}; nothing was changed`);
    throw error;
  }
  const hash = digestHash(document.digest);
  if (document.digest.seq !== head.seq || hash !== head.sha256)
    throw new SyncUsageError(
      `${where} is not the digest the state file names (its hash is ${hash}, the state file says ${head.sha256}); nothing was changed`,
    );
  return { document, hash };
}

/**
 * Finishes the digests of a crashed commit: publishes the pending head, deletes hidden digests the
 * state does not list and final ones beyond the head (a commit staged them and crashed before its
 * state was written). Returns whether the state's pending digest needs clearing.
 */
export async function recoverDigests(storage: LakeStorage, m: LakeManifest): Promise<boolean> {
  const headSeq = m.digest?.seq ?? 0;
  const names = await storage.listDigests(headSeq === 0 ? undefined : digestName(headSeq));
  if (names.length === 0 && m.pendingDigest === undefined) return false;
  const pending = m.pendingDigest;
  const pendingHidden = pending === undefined ? undefined : tempPath(pending).slice(DIGESTS_DIR.length + 1);
  if (pendingHidden !== undefined && names.includes(pendingHidden))
    await storage.publishDigest(pending as string);
  const stale = names.filter((n) =>
    isHiddenDigestName(n) ? n !== pendingHidden : (seqOfDigestName(n) as number) > headSeq,
  );
  await storage.deleteDigests(stale);
  return pending !== undefined;
}
