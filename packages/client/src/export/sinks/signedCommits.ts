/**
 * The signed side of the file sink (docs/verifiable-logs.md, "Export layout"): one digest per commit
 * in the folder `FILE.digests/` beside the output, each describing exactly the bytes the commit
 * appended to the (uncompressed) file: their offset, length, SHA-256, entry count and Merkle root,
 * chained to the digest before it. The digest is written durably before the manifest that records
 * it as the head (the commit point), so after a crash a digest beyond the manifest's head is one of
 * a commit that never happened: resume deletes it and continues the chain from the head.
 *
 * The leaves and the commit's SHA-256 are computed from the bytes as they are written (no re-read).
 */
import { createHash, type Hash } from "node:crypto";
import { lstat, mkdir, readdir, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { DigestChain, type SignOptions } from "../../digest/chain.js";
import {
  type DigestDocument,
  digestHash,
  digestName,
  MAX_DIGEST_BYTES,
  parseDigest,
  seqOfDigestName,
} from "../../digest/document.js";
import { type LeafFormat, LeafHashes } from "../../digest/leaves.js";
import { crashPoint } from "../../state/crashPoint.js";
import { fsyncDir, writeFileAtomic } from "../../state/durableFile.js";
import { readRegularFile } from "../../state/regularFile.js";
import { StateFileError } from "../../state/stateReader.js";
import { ExportUsageError } from "../errors.js";

/** `FILE.digests`: the folder of a signed export's digests. */
export function digestsPath(out: string): string {
  return `${out}.digests`;
}

/** The newest committed digest, as the manifest records it. */
export interface DigestHead {
  seq: number;
  sha256: string;
}

/** What a commit's digest says besides the bytes and leaves the signer saw. */
export interface CommitParts {
  /** The manifest's `query`. */
  identity: Record<string, unknown>;
  window: { from: string; to: string };
  /** The manifest's committed cursor. */
  cursor: unknown;
  /** The footer is written: the export's last commit. */
  complete: boolean;
}

function refused(problem: string): ExportUsageError {
  return new ExportUsageError({ input: "sign", problem }, problem);
}

type Entry = { name: string; kind: "digest" | "other"; regular: boolean };

/** What `dir` holds, by name; undefined when it does not exist. @throws when it is not a folder */
async function listFolder(dir: string): Promise<Entry[] | undefined> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw refused(`cannot use ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!info.isDirectory())
    throw refused(
      `${dir} is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}; the digests of an export live in a folder of that name (move it away)`,
    );
  const out: Entry[] = [];
  for (const d of await readdir(dir, { withFileTypes: true }))
    out.push({
      name: d.name,
      kind: seqOfDigestName(d.name) === undefined ? "other" : "digest",
      regular: d.isFile(),
    });
  return out;
}

/** Deletes the regular files of `entries` with digest names `drop` picks (never a link or a folder). */
async function deleteDigests(dir: string, entries: Entry[], drop: (seq: number) => boolean): Promise<void> {
  let deleted = false;
  for (const e of entries) {
    const seq = seqOfDigestName(e.name);
    if (seq === undefined || !e.regular || !drop(seq)) continue;
    await unlink(join(dir, e.name));
    deleted = true;
  }
  if (deleted) await fsyncDir(dir);
}

/**
 * Checks, before any request, what a new (not resumed) export of `out` finds at `FILE.digests`: with
 * `force` it is emptied of digest files (their file is being replaced); without, digests there are
 * refused, except the first digest of an export that crashed before its first commit (no manifest,
 * the partial file there, no finished file): that digest was never committed.
 * @returns a function that empties the folder as decided, to run once every check has passed.
 */
export async function checkNewDigests(
  out: string,
  o: { force: boolean; crashedStart: boolean },
): Promise<() => Promise<void>> {
  const dir = digestsPath(out);
  const entries = await listFolder(dir);
  if (entries === undefined) return async () => undefined;
  const digests = entries.filter((e) => e.kind === "digest");
  if (digests.length === 0 || o.force) return () => deleteDigests(dir, entries, () => true);
  if (o.crashedStart && digests.every((e) => e.name === digestName(1) && e.regular))
    return () => deleteDigests(dir, entries, (seq) => seq === 1);
  throw refused(
    `${dir} already holds the digests of an export of ${out}; pass \`force\` to discard them and start over`,
  );
}

/** Signs each commit of the file sink: see the module comment. */
export class CommitSigner {
  readonly #dir: string;
  readonly #path: string;
  readonly #format: LeafFormat;
  readonly #chain: DigestChain;
  #leaves = new LeafHashes();
  #hash: Hash = createHash("sha256");
  /** Where this commit's bytes start: the file's length at the last commit. */
  #offset: number;
  #bytes = 0;
  /** Set once a commit failed half-way: the chain's state is unknown, nothing more is signed. */
  #broken: unknown;
  #madeDir: boolean;

  private constructor(out: string, format: LeafFormat, chain: DigestChain, offset: number, madeDir: boolean) {
    this.#dir = digestsPath(out);
    this.#path = basename(out);
    this.#format = format;
    this.#chain = chain;
    this.#offset = offset;
    this.#madeDir = madeDir;
  }

  /** A new chain for a new export of `out` (see {@link checkNewDigests} for the folder). */
  static create(out: string, format: LeafFormat, sign: SignOptions): CommitSigner {
    return new CommitSigner(out, format, new DigestChain("export", sign), 0, false);
  }

  /**
   * Continues the chain of an interrupted export whose manifest records `head` and `bytes` committed:
   * reads the head digest and checks its hash, refuses it when no key given signed it, then deletes
   * the digests of commits that never happened (seq above the head).
   * @throws ExportUsageError when the folder or the head digest cannot be used; DigestChainError
   * when no key given signed the head.
   */
  static async resume(
    out: string,
    format: LeafFormat,
    sign: SignOptions,
    head: DigestHead,
    bytes: number,
  ): Promise<CommitSigner> {
    const dir = digestsPath(out);
    const entries = await listFolder(dir);
    const name = digestName(head.seq);
    const path = join(dir, name);
    const cannot = (problem: string) =>
      refused(`cannot resume the signed export of ${out}: ${problem}; pass \`force\` to start over`);
    if (entries === undefined) throw cannot(`${dir} is missing`);
    const entry = entries.find((e) => e.name === name);
    if (entry === undefined) throw cannot(`its newest digest ${path} is missing`);
    if (!entry.regular) throw cannot(`${path} is not a regular file`);
    let document: DigestDocument;
    try {
      const text = await readRegularFile(path, MAX_DIGEST_BYTES, (p) => cannot(`${path} ${p}`), "a digest");
      if (text === undefined) throw cannot(`its newest digest ${path} is missing`);
      document = await parseDigest(text, path);
    } catch (error) {
      if (error instanceof StateFileError)
        throw cannot(`${path}${error.field === undefined ? "" : ` field ${error.field}`} ${error.problem}`);
      throw error;
    }
    const d = document.digest;
    const hash = digestHash(d);
    if (hash !== head.sha256 || d.seq !== head.seq)
      throw cannot(`${path} is not the digest the manifest committed (its SHA-256 differs)`);
    const file = d.files[0];
    if (d.files.length !== 1 || file === undefined || file.path !== basename(out))
      throw cannot(`${path} is not a digest of ${basename(out)}`);
    if ((file.offset ?? 0) + file.bytes !== bytes)
      throw cannot(`${path} does not end where the manifest's committed bytes (${bytes}) end`);
    const chain = new DigestChain("export", sign, { document, hash });
    await deleteDigests(dir, entries, (seq) => seq > head.seq);
    return new CommitSigner(out, format, chain, bytes, true);
  }

  /** The chain's newest digest (committed or about to be). */
  get head(): { seq: number; hash: string } | undefined {
    return this.#chain.head;
  }

  /** Takes bytes just appended to the file (after their write: they are read here). */
  observe(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#hash.update(bytes);
    // The bytes are on disk and nothing reads them until this returns (PartialWriter's write is
    // awaited): their leaves are hashed where they are (each leaf's preceding byte lent for its prefix).
    this.#leaves.addText(this.#format, bytes, 0, bytes.length, true);
    this.#bytes += bytes.length;
  }

  /**
   * Writes this commit's digest durably (the data it describes must be synced first) and returns
   * the new head, for the manifest. A failure leaves the signer unusable: the run must end there.
   */
  async commit(parts: CommitParts): Promise<DigestHead> {
    if (this.#broken !== undefined) throw this.#broken;
    try {
      const next = await this.#chain.next({
        identity: parts.identity,
        window: parts.window,
        cursor: parts.cursor,
        files: [
          {
            path: this.#path,
            offset: this.#offset,
            bytes: this.#bytes,
            sha256: this.#hash.digest("hex"),
            entries: this.#leaves.count,
          },
        ],
        leaves: this.#leaves,
        ...(parts.complete ? { complete: true } : {}),
      });
      if (!this.#madeDir) {
        await mkdir(this.#dir).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error;
        });
        this.#madeDir = true;
      }
      // writeFileAtomic syncs the file and the folder: the digest is durable before the manifest.
      await writeFileAtomic(join(this.#dir, next.name), next.text);
      crashPoint("export.digest-written");
      this.#offset += this.#bytes;
      this.#bytes = 0;
      this.#hash = createHash("sha256");
      this.#leaves = new LeafHashes();
      return { seq: next.document.digest.seq, sha256: next.hash };
    } catch (error) {
      this.#broken = error;
      throw error;
    }
  }
}
