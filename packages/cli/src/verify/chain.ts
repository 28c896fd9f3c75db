/**
 * The digests of a signed log, read and checked as a chain before any data: every name in the
 * folder a digest's, no sequence number missing, each document valid, each signed by a key given and
 * its signatures good, each chained to the one before (its hash and signatures), one identity, and a
 * key change only at a digest both keys signed.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type DigestDocument,
  type DigestLog,
  digestHash,
  digestName,
  MAX_DIGEST_BYTES,
  parseDigest,
  seqOfDigestName,
} from "@clarifai-audit/client/internal/digest/document.js";
import { checkSignature, type VerifyingKey } from "@clarifai-audit/client/internal/digest/keys.js";
import { decodeLeafPrefixes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import { StateFileError } from "@clarifai-audit/client/internal/state/stateReader.js";
import { fail, listed } from "./problem.js";

/** One digest of the chain, read and parsed. */
export interface LoadedDigest {
  /** Its file name (`000000000001.json`). */
  name: string;
  /** How messages name it (the folder as given, and the name). */
  shown: string;
  seq: number;
  doc: DigestDocument;
  /** digestHash of its body (hex). */
  hash: string;
  /** Its `leaves`, decoded (8 bytes a leaf). */
  prefixes: Buffer;
}

/** A staged or half-written digest's hidden name (a commit's temporary file): not a digest yet. */
const HIDDEN_TEMP = /^\.\d{12}\.json(\.\d+)?\.tmp$/;

/** The short form of a key id in messages. */
function keys(ids: readonly string[]): string {
  return ids.join(" and ");
}

/**
 * Reads the digests of `dir` (shown as `shownDir`), in order.
 * @throws NotVerified not-signed (no digest), digest-invalid (another name, a file that is not a
 * digest of a `log`), digest-missing (every gap named).
 */
export async function loadDigests(dir: string, shownDir: string, log: DigestLog): Promise<LoadedDigest[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      fail("not-signed", shownDir, `${shownDir} does not exist: the log is not signed (no digests)`);
    throw error;
  }
  const seqs: number[] = [];
  for (const name of names.sort()) {
    if (HIDDEN_TEMP.test(name)) continue;
    const seq = seqOfDigestName(name);
    if (seq === undefined)
      fail(
        "digest-invalid",
        `${shownDir}/${name}`,
        `${shownDir}/${name} is not a digest's name (000000000001.json, …): the digests folder holds a file no chain lists`,
        { digest: name },
      );
    seqs.push(seq);
  }
  if (seqs.length === 0) fail("not-signed", shownDir, `${shownDir} holds no digest: the log is not signed`);
  seqs.sort((a, b) => a - b);
  const newest = seqs.at(-1) as number;
  if (seqs.length !== newest) {
    const have = new Set(seqs);
    const missing: string[] = [];
    for (let s = 1; s < newest; s++) if (!have.has(s)) missing.push(digestName(s));
    fail(
      "digest-missing",
      `${shownDir}/${missing[0]}`,
      `${shownDir}: ${missing.length === 1 ? "digest" : "digests"} ${listed(missing)} ${missing.length === 1 ? "is" : "are"} missing (the chain goes to ${digestName(newest)})`,
      { digest: missing[0] as string },
    );
  }
  const out: LoadedDigest[] = [];
  for (const seq of seqs) out.push(await loadOne(dir, shownDir, digestName(seq), seq, log));
  return out;
}

async function loadOne(
  dir: string,
  shownDir: string,
  name: string,
  seq: number,
  log: DigestLog,
): Promise<LoadedDigest> {
  const shown = `${shownDir}/${name}`;
  const bad = (what: string): never => fail("digest-invalid", shown, `${shown} ${what}`, { digest: name });
  const path = join(dir, name);
  const info = await lstat(path);
  if (!info.isFile()) bad("is not a regular file");
  let doc: DigestDocument;
  try {
    // Bounded and never waiting on a FIFO: a copied log is input like any other.
    const bytes = await readRegularFile(
      path,
      MAX_DIGEST_BYTES,
      (problem) => new StateFileError(shown, undefined, problem),
      "a digest",
    );
    if (bytes === undefined) return bad("does not exist");
    doc = await parseDigest(bytes, shown);
  } catch (error) {
    if (error instanceof StateFileError) fail("digest-invalid", shown, error.message, { digest: name });
    throw error;
  }
  const body = doc.digest;
  if (body.seq !== seq) bad(`says it is digest ${body.seq}`);
  if (body.log !== log) bad(`is a digest of a ${body.log}, not of a ${log}`);
  const prefixes = decodeLeafPrefixes(body.leaves, body.entries);
  if (prefixes === undefined) return bad(`has leaves that are not ${body.entries} leaf prefixes`);
  return { name, shown, seq, doc, hash: digestHash(body), prefixes };
}

/**
 * Checks every signature of `doc` made by a key in `given` (`signature-invalid` when one does not
 * match) and that at least one is (`key-unknown`); `shown` names the file, `what` the digest in it.
 */
export function checkSignatures(
  doc: DigestDocument,
  given: readonly VerifyingKey[],
  shown: string,
  what: string,
  at: { digest: string },
): void {
  let checked = 0;
  for (const sig of doc.signatures) {
    const key = given.find((k) => k.keyId === sig.keyId);
    if (key === undefined) continue;
    checked++;
    if (!checkSignature(doc.digest, sig, key))
      fail(
        "signature-invalid",
        shown,
        `${what}: the signature of key ${sig.keyId} (${key.source}) does not match the digest: it was changed after signing`,
        at,
      );
  }
  if (checked === 0)
    fail(
      "key-unknown",
      shown,
      `${what} is signed by key ${keys(doc.signatures.map((s) => s.keyId))}, which is none of the keys given (${keys(given.map((k) => k.keyId))})`,
      at,
    );
}

/**
 * Checks signatures and links of the chain.
 * @throws NotVerified key-unknown, signature-invalid, chain-broken, key-change-unsigned, identity-changed.
 */
export function checkChain(digests: readonly LoadedDigest[], given: readonly VerifyingKey[]): void {
  const first = digests[0];
  const identity = first === undefined ? "" : canonicalJson(first.doc.digest.identity);
  let prev: LoadedDigest | undefined;
  for (const d of digests) {
    const { doc, shown, name } = d;
    const at = { digest: name };
    checkSignatures(doc, given, shown, `${shown}`, at);
    if (prev !== undefined) {
      const link = doc.digest.previous;
      if (link === null || link.sha256 !== prev.hash)
        fail(
          "chain-broken",
          shown,
          `${shown}: its previous digest's hash is ${link?.sha256 ?? "none"}, but ${prev.name} hashes to ${prev.hash}: the chain is broken`,
          at,
        );
      if (canonicalJson(link.signatures) !== canonicalJson(prev.doc.signatures))
        fail(
          "chain-broken",
          shown,
          `${shown}: the previous digest's signatures it carries are not ${prev.name}'s: the chain is broken`,
          at,
        );
      if (!doc.digest.keyIds.some((k) => prev?.doc.digest.keyIds.includes(k)))
        fail(
          "key-change-unsigned",
          shown,
          `${shown} is signed by key ${keys(doc.digest.keyIds)}, ${prev.name} by ${keys(prev.doc.digest.keyIds)}: a key change needs one digest signed by both keys`,
          at,
        );
    }
    if (canonicalJson(doc.digest.identity) !== identity)
      fail(
        "identity-changed",
        shown,
        `${shown}: its identity (account and query) is not the chain's (${first?.name}'s): ${canonicalJson(doc.digest.identity)}`,
        at,
      );
    prev = d;
  }
}

/**
 * The digest `expectHead` names.
 * @throws NotVerified head-not-found.
 */
export function findHead(
  digests: readonly LoadedDigest[],
  expectHead: string,
  shownDir: string,
): { seq: number; hash: string; newest: boolean } {
  const want = expectHead.trim().toLowerCase();
  const i = digests.findIndex((d) => d.hash === want);
  const newest = digests.at(-1);
  if (i < 0 || newest === undefined)
    fail(
      "head-not-found",
      shownDir,
      `${shownDir}: no digest of the chain has the expected head hash ${want} (the newest, ${newest?.name ?? "none"}, has ${newest?.hash ?? "none"}): digests were removed or the log is another`,
    );
  const d = digests[i] as LoadedDigest;
  return { seq: d.seq, hash: d.hash, newest: i === digests.length - 1 };
}
