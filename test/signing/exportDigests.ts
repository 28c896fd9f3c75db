/**
 * A small checker of a signed export's digests, written against the digest core directly (the
 * `verify` command is another slice's): the chain (seq 1..N, no gap, each `previous` the hash and
 * signatures of the one before), every signature by a known key (a key change only at a digest the
 * previous key signed too), the byte ranges tiling the file exactly with their SHA-256, each
 * commit's Merkle root and leaf prefixes over the lines in its range, and the cumulative tree.
 * Framework-free: a failed check throws an Error saying what differs.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type VerifyReport, verifyLog } from "../../packages/cli/src/verify/index.js";
import {
  type DigestDocument,
  digestHash,
  parseDigest,
  seqOfDigestName,
} from "../../packages/client/src/digest/document.js";
import { checkSignature, keyIdOf, type VerifyingKey } from "../../packages/client/src/digest/keys.js";
import { type LeafFormat, LeafHashes } from "../../packages/client/src/digest/leaves.js";
import { MerkleFrontier, merkleRoot } from "../../packages/client/src/digest/merkle.js";

/** A key pair written for a test: the private key file (mode 0600) and its verifying key. */
export interface TestKey {
  path: string;
  verifying: VerifyingKey;
}

/** Writes an Ed25519 key to `path` (mode `mode`, default 0600). */
export function writeKey(path: string, mode = 0o600): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }) as string, { mode });
  return { path, verifying: { keyId: keyIdOf(publicKey), publicKey, source: `${path}.pub` } };
}

/** What {@link checkExportDigests} read. */
export interface CheckedExport {
  digests: DigestDocument[];
  /** Entries (leaves) over every digest. */
  entries: number;
  /** The head: the last digest's seq and hash. */
  head: { seq: number; hash: string };
}

/** The file's text, gunzipped when it is gzip (told by its magic bytes, as verify does). */
export function exportBytes(path: string): Buffer {
  const raw = readFileSync(path);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

/**
 * Checks the digests in `out.digests/` against `bytes` (the finished file's text, or the committed
 * part of the partial file), with `keys` the verifying keys known.
 */
export async function checkExportDigests(
  out: string,
  format: LeafFormat,
  bytes: Buffer,
  keys: readonly VerifyingKey[],
): Promise<CheckedExport> {
  const dir = `${out}.digests`;
  const names = readdirSync(dir)
    .filter((n) => seqOfDigestName(n) !== undefined)
    .sort();
  if (names.length === 0) throw new Error(`${dir} holds no digest`);
  const digests: DigestDocument[] = [];
  const tree = new MerkleFrontier();
  let offset = 0;
  let previous: DigestDocument | undefined;
  for (const [i, name] of names.entries()) {
    const where = join(dir, name);
    const doc = await parseDigest(readFileSync(where), where);
    const d = doc.digest;
    const fail = (what: string) => new Error(`${where}: ${what}`);
    if (d.seq !== i + 1) throw fail(`seq ${d.seq}, expected ${i + 1} (a gap in the chain)`);
    if (d.log !== "export") throw fail(`log ${d.log}`);
    if (previous === undefined) {
      if (d.previous !== null) throw fail("the first digest has a previous");
    } else {
      if (d.previous?.sha256 !== digestHash(previous.digest))
        throw fail("previous.sha256 is not the hash before");
      if (JSON.stringify(d.previous.signatures) !== JSON.stringify(previous.signatures))
        throw fail("previous.signatures differ from the digest before");
      if (!d.keyIds.some((k) => previous?.digest.keyIds.includes(k)))
        throw fail(`signed by ${d.keyIds.join(",")}, none of which signed the digest before`);
    }
    for (const s of doc.signatures) {
      const key = keys.find((k) => k.keyId === s.keyId);
      if (key === undefined) throw fail(`signed by unknown key ${s.keyId}`);
      if (!checkSignature(d, s, key)) throw fail(`signature of ${s.keyId} does not verify`);
    }
    const [file, ...more] = d.files;
    if (file === undefined || more.length > 0) throw fail(`${d.files.length} files`);
    if (file.path !== basename(out)) throw fail(`file ${file.path}`);
    if (file.offset !== offset) throw fail(`offset ${file.offset}, expected ${offset}`);
    const end = offset + file.bytes;
    if (end > bytes.length) throw fail(`range ends at ${end}, past the file's ${bytes.length} bytes`);
    const sha = createHash("sha256").update(bytes.subarray(offset, end)).digest("hex");
    if (sha !== file.sha256) throw fail("sha256 of its range differs");
    const leaves = new LeafHashes();
    leaves.addText(format, bytes, offset, end);
    if (leaves.count !== d.entries || file.entries !== d.entries)
      throw fail(`${d.entries} entries; its range holds ${leaves.count}`);
    if (merkleRoot(leaves.hashes(), leaves.count).toString("hex") !== d.root) throw fail("root differs");
    if (leaves.prefixes() !== d.leaves) throw fail("leaves differ");
    tree.appendAll(leaves.hashes(), leaves.count);
    if (d.tree.size !== tree.size || d.tree.root !== tree.root().toString("hex"))
      throw fail(`tree (size ${d.tree.size}) differs from the leaves so far (${tree.size})`);
    if (JSON.stringify(d.tree.frontier) !== JSON.stringify(tree.nodes())) throw fail("frontier differs");
    if (d.complete && i !== names.length - 1) throw fail("complete before the last digest");
    offset = end;
    previous = doc;
    digests.push(doc);
  }
  if (offset !== bytes.length) throw new Error(`the digests cover ${offset} of ${bytes.length} bytes`);
  const last = previous as DigestDocument;
  return { digests, entries: tree.size, head: { seq: last.digest.seq, hash: digestHash(last.digest) } };
}

/**
 * The verifier's word on the finished export `out` (the verify slice's verifyLog, an implementation
 * apart from this checker): throws with its one line unless verified.
 */
export async function verified(out: string, keys: readonly VerifyingKey[]): Promise<VerifyReport> {
  const report = await verifyLog(out, { keys });
  if (!report.verified) throw new Error(`verify ${out}: ${report.problem?.message ?? "not verified"}`);
  return report;
}

/** The manifest of an interrupted export of `out`, if any. */
export function manifestOf(
  out: string,
): { committed: { bytes: number; entries: number }; digest?: { seq: number; sha256: string } } | undefined {
  const path = `${out}.manifest.json`;
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

/**
 * Checks an interrupted signed export: the digests up to the manifest's head describe exactly the
 * committed part of `out.partial`; at most one digest beyond the head (written, never committed).
 */
export async function checkInterrupted(
  out: string,
  format: LeafFormat,
  keys: readonly VerifyingKey[],
): Promise<void> {
  const m = manifestOf(out);
  if (m === undefined) return;
  const head = m.digest;
  if (head === undefined) throw new Error(`${out}.manifest.json records no digest`);
  const names = readdirSync(`${out}.digests`).filter((n) => seqOfDigestName(n) !== undefined);
  const beyond = names.filter((n) => (seqOfDigestName(n) as number) > head.seq);
  if (beyond.length > 1) throw new Error(`digests beyond the head ${head.seq}: ${beyond.join(", ")}`);
  const committed = readFileSync(`${out}.partial`).subarray(0, m.committed.bytes);
  // Check the committed chain alone: set the uncommitted digest aside by reading a copy of the folder.
  const copy = mkdtempSync(join(tmpdir(), "xsign-check-"));
  try {
    const copyOut = join(copy, basename(out));
    cpSync(`${out}.digests`, `${copyOut}.digests`, { recursive: true });
    for (const n of beyond) renameSync(join(`${copyOut}.digests`, n), join(copy, n));
    const checked = await checkExportDigests(copyOut, format, committed, keys);
    if (checked.head.seq !== head.seq || checked.head.hash !== head.sha256)
      throw new Error(`the manifest's head ${head.seq} is not the chain's ${checked.head.seq}`);
    if (checked.entries !== m.committed.entries)
      throw new Error(`the chain holds ${checked.entries} entries, the manifest ${m.committed.entries}`);
    // The verifier reads an unfinished export from its partial file (the uncommitted tail ignored).
    await verified(out, keys);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
