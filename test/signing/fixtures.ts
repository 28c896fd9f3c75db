/**
 * Signed logs for the verifier's tests, built with the digest core exactly in the layouts of
 * docs/verifiable-logs.md (what export --sign and sync --sign write): an export file with its
 * digests in FILE.digests/ (a digest per commit: the header, each batch, the footer), and a lake
 * folder of Parquet files written by DuckDB with its digests in DIR/_clarifai_digests/ and the head
 * in _clarifai_sync.json.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { DigestChain } from "@clarifai-audit/client/internal/digest/chain.js";
import {
  type DigestDocument,
  type DigestFile,
  digestHash,
  serializeDigest,
} from "@clarifai-audit/client/internal/digest/document.js";
import {
  generateSigningKey,
  readSigningKey,
  readVerifyingKey,
  type SigningKey,
  signDigest,
  type VerifyingKey,
} from "@clarifai-audit/client/internal/digest/keys.js";
import { type LeafFormat, LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { DuckDBInstance } from "@duckdb/node-api";

/** A key pair on disk. */
export interface TestKey {
  keyPath: string;
  pubPath: string;
  signing: SigningKey;
  verifying: VerifyingKey;
}

/** A new Ed25519 key pair in `dir` (KEY 0600 and KEY.pub). */
export async function makeKey(dir: string, name: string): Promise<TestKey> {
  const { privatePem, publicPem } = generateSigningKey();
  const keyPath = join(dir, name);
  writeFileSync(keyPath, privatePem, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(`${keyPath}.pub`, publicPem);
  return {
    keyPath,
    pubPath: `${keyPath}.pub`,
    signing: await readSigningKey(keyPath),
    verifying: await readVerifyingKey(`${keyPath}.pub`),
  };
}

/** A temporary folder, removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "verify-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `n` entries as JSON lines, distinct and in time order. */
export function entryLines(n: number, from = 0): string[] {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) {
    const s = String(i % 60).padStart(2, "0");
    out.push(
      JSON.stringify({
        timestamp: `2026-01-0${1 + (Math.floor(i / 3600) % 9)}T00:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${s}.000000001Z`,
        operation: 300 + (i % 5),
        user: { id: `user-${i % 7}` },
        description: `entry ${i} ünïcödé`,
        req_id: `req-${i}`,
        source_ip: `10.0.${i % 250}.${i % 200}`,
        success: i % 3 !== 0,
      }),
    );
  }
  return out;
}

const IDENTITY = { userId: "cli-user", endpoint: "api.clarifai.com:443", query: { operations: [] } };
const WINDOW = { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" };

/** Signs one commit, continuing from `head`. */
async function signCommit(
  log: "export" | "lake",
  keys: readonly SigningKey[],
  head: { document: DigestDocument; hash: string } | undefined,
  files: DigestFile[],
  leaves: LeafHashes,
  extra: {
    cursor: unknown;
    complete?: boolean;
    identity?: Record<string, unknown>;
    previousKeys?: readonly SigningKey[];
  },
): Promise<{ document: DigestDocument; hash: string; name: string; text: string }> {
  // A key change without a digest signed by both (what the verifier must refuse): signed as a
  // proper change, then re-signed by the new keys alone.
  const abrupt = head !== undefined && !keys.some((k) => head.document.digest.keyIds.includes(k.keyId));
  const chain = new DigestChain(
    log,
    { keys: abrupt ? [...(extra.previousKeys ?? []), ...keys] : keys },
    head,
  );
  const next = await chain.next({
    identity: extra.identity ?? IDENTITY,
    window: WINDOW,
    cursor: extra.cursor,
    files,
    leaves,
    ...(extra.complete ? { complete: true } : {}),
  });
  if (!abrupt) return next;
  const body = next.document.digest;
  body.keyIds = keys.map((k) => k.keyId);
  const document = { digest: body, signatures: signDigest(body, keys) };
  return { document, hash: digestHash(body), name: next.name, text: serializeDigest(document) };
}

/** Options of {@link writeSignedExport}. */
export interface ExportFixture {
  /** Entries per batch commit (default [3, 4, 2]). */
  batches?: number[];
  format?: "jsonl" | "json";
  gzip?: boolean;
  /** The keys of commit `i` (0: the header's). */
  keys: (commit: number) => readonly SigningKey[];
  /** The identity of commit `i` (default: one for all). */
  identity?: (commit: number) => Record<string, unknown>;
  /** Leave the export unfinished: no footer commit. */
  unfinished?: boolean;
}

/** What a fixture wrote. */
export interface SignedLog {
  path: string;
  digests: string;
  entries: string[];
  /** Digest hashes, by seq - 1. */
  hashes: string[];
}

/**
 * An export of JSON Lines (or a JSON array) signed as the export sink signs: a digest for the header
 * commit (no entries), one per batch, one for the footer (complete).
 */
export async function writeSignedExport(dir: string, name: string, o: ExportFixture): Promise<SignedLog> {
  const format: LeafFormat = o.format ?? "jsonl";
  const batches = o.batches ?? [3, 4, 2];
  const entries = entryLines(batches.reduce((a, b) => a + b, 0));
  const path = join(dir, name);
  const digests = `${path}.digests`;
  mkdirSync(digests);
  const parts: string[] = [format === "json" ? "[\n" : ""];
  let next = 0;
  for (const [b, n] of batches.entries()) {
    const lines = entries.slice(next, next + n);
    next += n;
    if (format === "json") parts.push(`${b > 0 ? ",\n" : ""}${lines.join(",\n")}`);
    else parts.push(lines.map((l) => `${l}\n`).join(""));
  }
  if (!o.unfinished) parts.push(format === "json" ? "\n]\n" : "");
  let head: { document: DigestDocument; hash: string } | undefined;
  let offset = 0;
  const hashes: string[] = [];
  for (const [i, text] of parts.entries()) {
    const bytes = Buffer.from(text, "utf8");
    const leaves = new LeafHashes();
    leaves.addText(format, bytes);
    const file: DigestFile = {
      path: basename(path),
      offset,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      entries: leaves.count,
    };
    offset += bytes.length;
    const last = i === parts.length - 1 && !o.unfinished;
    const d = await signCommit("export", o.keys(i), head, [file], leaves, {
      cursor: { committed: i },
      ...(i > 0 ? { previousKeys: o.keys(i - 1) } : {}),
      complete: last,
      ...(o.identity !== undefined ? { identity: o.identity(i) } : {}),
    });
    writeFileSync(join(digests, d.name), d.text);
    head = { document: d.document, hash: d.hash };
    hashes.push(d.hash);
  }
  const text = Buffer.from(parts.join(""), "utf8");
  writeFileSync(path, o.gzip ? gzipSync(text) : text);
  return { path, digests, entries, hashes };
}

/** Options of {@link writeSignedLake}. */
export interface LakeFixture {
  /** Rows per file, per commit (default [[3, 2], [4]]). */
  commits?: number[][];
  keys: (commit: number) => readonly SigningKey[];
}

/** A signed lake: Parquet files with an `entry` column, written by DuckDB, a digest per commit. */
export async function writeSignedLake(dir: string, o: LakeFixture): Promise<SignedLog & { files: string[] }> {
  const commits = o.commits ?? [[3, 2], [4]];
  const total = commits.flat().reduce((a, b) => a + b, 0);
  const entries = entryLines(total);
  const digests = join(dir, "_clarifai_digests");
  mkdirSync(digests, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const db = await instance.connect();
  let head: { document: DigestDocument; hash: string } | undefined;
  const hashes: string[] = [];
  const paths: string[] = [];
  let next = 0;
  try {
    for (const [c, files] of commits.entries()) {
      const leaves = new LeafHashes();
      const listed: DigestFile[] = [];
      for (const [f, rows] of files.entries()) {
        const lines = entries.slice(next, next + rows);
        next += rows;
        const rel = `audit_log/date=2026-01-0${c + 1}/part-${String(c + 1).padStart(6, "0")}-${f}.parquet`;
        mkdirSync(join(dir, rel, ".."), { recursive: true });
        await writeParquet(db, join(dir, rel), lines);
        for (const l of lines) leaves.add(Buffer.from(l, "utf8"));
        const bytes = readFileSync(join(dir, rel));
        listed.push({
          path: rel,
          sha256: createHash("sha256").update(bytes).digest("hex"),
          bytes: bytes.length,
          entries: rows,
        });
        paths.push(rel);
      }
      const d = await signCommit("lake", o.keys(c), head, listed, leaves, {
        cursor: { commit: c },
        ...(c > 0 ? { previousKeys: o.keys(c - 1) } : {}),
      });
      writeFileSync(join(digests, d.name), d.text);
      head = { document: d.document, hash: d.hash };
      hashes.push(d.hash);
      writeFileSync(
        join(dir, "_clarifai_sync.json"),
        `${JSON.stringify({ kind: "clarifai-audit-lake", digest: { seq: d.document.digest.seq, sha256: d.hash } })}\n`,
      );
    }
  } finally {
    db.closeSync();
  }
  return { path: dir, digests, entries, hashes, files: paths };
}

/** Writes `lines` as the `entry` column of a Parquet file, in order (a few other columns beside). */
export async function writeParquet(
  db: Awaited<ReturnType<DuckDBInstance["connect"]>>,
  path: string,
  lines: readonly string[],
): Promise<void> {
  await db.run("CREATE OR REPLACE TEMP TABLE fixture_rows (n INTEGER, entry VARCHAR)");
  const appender = await db.createAppender("fixture_rows", "main", "temp");
  lines.forEach((l, i) => {
    appender.appendInteger(i);
    appender.appendVarchar(l);
    appender.endRow();
  });
  appender.flushSync();
  appender.closeSync();
  await db.run(
    `COPY (SELECT json_extract_string(entry, '$.req_id') AS req_id, entry FROM fixture_rows ORDER BY n) TO '${path.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`,
  );
}
