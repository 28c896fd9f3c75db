/**
 * The tests' own check of a signed lake's chain, with the digest core only (the verify command is
 * another slice's): every digest from 1 to the state's head present (none beyond it, no hidden one
 * left), each one valid, signed by the keys it names, chained to the one before it; each file it
 * lists present with its hash, size and rows; its leaves those of the file's `entry` column as DuckDB
 * reads it back (file order, then row order), their root its `root`; the tree over every entry of
 * the chain; every Parquet file the state lists named by exactly one digest. Then the verifier
 * (packages/cli/src/verify, `verify PATH`) must agree.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "@jest/globals";
import { DIGESTS_DIR, STATE_FILE } from "../../packages/cli/src/sync/lake/manifest.js";
import { verifyLog } from "../../packages/cli/src/verify/index.js";
import {
  type DigestDocument,
  digestHash,
  digestName,
  parseDigest,
} from "../../packages/client/src/digest/document.js";
import {
  checkSignature,
  generateSigningKey,
  readVerifyingKey,
} from "../../packages/client/src/digest/keys.js";
import { LeafHashes } from "../../packages/client/src/digest/leaves.js";
import { MerkleFrontier, merkleRoot } from "../../packages/client/src/digest/merkle.js";
import type { S3Server } from "../helpers/s3.js";

/** A key pair written for a test: the private key (mode 0600), its public key, its id. */
export interface TestKey {
  path: string;
  pub: string;
  keyId: string;
}

/** Writes a new key pair `dir/name` and `dir/name.pub`. */
export function makeKey(dir: string, name: string): TestKey {
  mkdirSync(dir, { recursive: true });
  const k = generateSigningKey();
  const path = join(dir, name);
  writeFileSync(path, k.privatePem, { mode: 0o600 });
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pub`, k.publicPem);
  return { path, pub: `${path}.pub`, keyId: k.keyId };
}

interface LakeState {
  files: { path: string; rows: number; bytes: number }[];
  pending: string[];
  digest?: { seq: number; sha256: string };
  pendingDigest?: string;
  state: { run?: unknown; totals: { entries: number } };
}

/** What a checked chain holds. */
export interface CheckedChain {
  digests: DigestDocument[];
  /** Every entry of the chain, in chain order. */
  entries: string[];
  head: { seq: number; hash: string };
}

let duck: Promise<DuckDBInstance> | undefined;

/** The `entry` column of a Parquet file as DuckDB reads it (its row order). */
export async function entryColumn(path: string): Promise<string[]> {
  duck ??= DuckDBInstance.create(":memory:", { threads: "1" });
  const db = await (await duck).connect();
  try {
    const r = await db.runAndReadAll(
      `SELECT entry FROM read_parquet('${path.replaceAll("'", "''")}', hive_partitioning = false)`,
    );
    return r.getRows().map((row) => String(row[0]));
  } finally {
    db.closeSync();
  }
}

/**
 * Checks the signed lake in the folder `dir` (a local lake, or an S3 lake copied by
 * {@link copyS3Lake}) with the public keys `pubs` (each key a digest names must be among them).
 */
export async function checkLakeChain(dir: string, pubs: readonly string[]): Promise<CheckedChain> {
  const keys = await Promise.all(pubs.map((p) => readVerifyingKey(p)));
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as LakeState;
  expect(state.digest).toBeDefined();
  const head = state.digest as { seq: number; sha256: string };
  // The head's digest may still be named pending (the next commit or open clears it), but it is
  // published: the listing below holds no hidden name.
  if (state.pendingDigest !== undefined)
    expect(state.pendingDigest).toBe(`${DIGESTS_DIR}/${digestName(head.seq)}`);
  const names = readdirSync(join(dir, DIGESTS_DIR)).sort();
  // Exactly 1..head: no gap, nothing beyond the head, nothing hidden.
  expect(names).toEqual(Array.from({ length: head.seq }, (_, i) => digestName(i + 1)));
  const listed = new Map(state.files.map((f) => [f.path, f]));
  const named = new Set<string>();
  const digests: DigestDocument[] = [];
  const entries: string[] = [];
  const tree = new MerkleFrontier();
  let previous: { hash: string; doc: DigestDocument } | undefined;
  for (const name of names) {
    const doc = await parseDigest(readFileSync(join(dir, DIGESTS_DIR, name)), name);
    const d = doc.digest;
    expect(d.log).toBe("lake");
    const hash = digestHash(d);
    for (const s of doc.signatures) {
      const key = keys.find((k) => k.keyId === s.keyId);
      expect({ name, key: key?.keyId }).toEqual({ name, key: s.keyId });
      expect(checkSignature(d, s, key as (typeof keys)[number])).toBe(true);
    }
    if (previous === undefined) expect(d.previous).toBeNull();
    else expect(d.previous).toEqual({ sha256: previous.hash, signatures: previous.doc.signatures });
    const leaves = new LeafHashes();
    for (const f of d.files) {
      const file = listed.get(f.path);
      expect({ name, path: f.path, listed: file !== undefined }).toEqual({
        name,
        path: f.path,
        listed: true,
      });
      expect(named.has(f.path)).toBe(false);
      named.add(f.path);
      const bytes = readFileSync(join(dir, f.path));
      expect({ path: f.path, sha256: f.sha256, bytes: f.bytes, rows: f.entries }).toEqual({
        path: f.path,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        bytes: bytes.length,
        rows: file?.rows,
      });
      const rows = await entryColumn(join(dir, f.path));
      expect(rows.length).toBe(f.entries);
      for (const row of rows) {
        leaves.add(Buffer.from(row, "utf8"));
        entries.push(row);
      }
    }
    expect(leaves.count).toBe(d.entries);
    expect(leaves.prefixes()).toBe(d.leaves);
    expect(merkleRoot(leaves.hashes(), leaves.count).toString("hex")).toBe(d.root);
    tree.appendAll(leaves.hashes(), leaves.count);
    expect(d.tree).toEqual({ size: tree.size, root: tree.root().toString("hex"), frontier: tree.nodes() });
    digests.push(doc);
    previous = { hash, doc };
  }
  expect(previous?.hash).toBe(head.sha256);
  // Every Parquet file of the lake is some digest's.
  expect([...listed.keys()].filter((p) => !named.has(p))).toEqual([]);
  // And the verifier (verify PATH, h/verify's verifyLog) agrees, with the head expected.
  const report = await verifyLog(dir, { keys, expectHead: head.sha256 });
  expect({ verified: report.verified, problem: report.problem?.message }).toEqual({
    verified: true,
    problem: undefined,
  });
  expect({ digests: report.digests, entries: report.entries }).toEqual({
    digests: head.seq,
    entries: entries.length,
  });
  return { digests, entries, head: { seq: head.seq, hash: head.sha256 } };
}

/** Copies the objects below `bucket/prefix` into the folder `dir` (as an auditor would download them). */
export async function copyS3Lake(s3: S3Server, bucket: string, prefix: string, dir: string): Promise<void> {
  const base = `${prefix}/`;
  for (const key of await s3.listKeys(bucket, base)) {
    const body = await s3.readObject(bucket, key);
    if (body === undefined) continue;
    const to = join(dir, key.slice(base.length));
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, body);
  }
}

/** Whether the folder `dir` has a digests folder holding a hidden (staged, unlisted) digest. */
export function hiddenDigests(dir: string): string[] {
  const d = join(dir, DIGESTS_DIR);
  return existsSync(d) ? readdirSync(d).filter((n) => n.startsWith(".")) : [];
}
