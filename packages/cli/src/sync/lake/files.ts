/**
 * How the lake's files are written and how they change, on any storage (storage.ts): a commit's new
 * file is staged in DuckDB, written to a local scratch path and made durable under a hidden
 * temporary name; a set of files is replaced by new ones (compaction, the schema migration) in the
 * commit protocol of new data — new files durable under hidden names, the state file lists them as
 * pending and the replaced ones as obsolete, publication, deletions — and a crash in the middle of
 * any of it is finished on the next open.
 */

import type { DigestFile } from "@clarifai-audit/client/internal/digest/document.js";
import type { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { formatTimestampExact } from "@clarifai-audit/client/internal/domain/time.js";
import { nsToTs, parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { type CrashPoint, crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { KeyTable } from "../keyTable.js";
import type { LakeFile, LakeManifest } from "./manifest.js";
import { appendStaged, copyStageSql, resetStage, STAGE_TABLE, type StagedRows, sqlString } from "./schema.js";
import { addRowLeaves, hashFile, recoverDigests } from "./signing.js";
import type { LakeStorage } from "./storage.js";

/** What a signed commit's digest needs of its files, filled in as they are written. */
export interface SignedFiles {
  files: DigestFile[];
  /** The rows' leaves, file after file, each file's in row order. */
  leaves: LeafHashes;
}

/**
 * Writes `rows` (window order) to the hidden name of `path` in `storage`, durably; with `signed`,
 * adds the file (its SHA-256 as written) and its rows' leaves (in the order DuckDB wrote them: the
 * staged order, which a COPY of one thread keeps) to it.
 */
export async function writeLakeFile(
  db: DuckDBConnection,
  storage: LakeStorage,
  path: string,
  rows: StagedRows,
  signed?: SignedFiles,
): Promise<LakeFile> {
  const scratch = await storage.scratchFor(path);
  await resetStage(db);
  const appender = await db.createAppender(STAGE_TABLE, "main", "temp");
  try {
    appendStaged(appender, rows);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  let min = rows.ns[0] ?? 0n;
  let max = min;
  for (const ns of rows.ns) {
    if (ns < min) min = ns;
    if (ns > max) max = ns;
  }
  const copying = db.run(copyStageSql(scratch));
  // The leaves are hashed while DuckDB writes the file on its own thread.
  if (signed !== undefined) addRowLeaves(rows, signed.leaves);
  const written = (await copying).rowsChanged;
  if (written !== rows.ns.length)
    throw new Error(`the lake wrote ${written} rows of ${rows.ns.length} to ${path}; nothing was committed`);
  if (storage.points.fileWritten) crashPoint(storage.points.fileWritten);
  const hashed = signed === undefined ? undefined : await hashFile(scratch);
  const bytes = await storage.stage(path, scratch);
  crashPoint(storage.points.fileStaged);
  if (signed !== undefined && hashed !== undefined) {
    // The digest names the bytes stored: a file that changed between the hash and the upload fails.
    if (hashed.bytes !== bytes)
      throw new Error(
        `${path} was ${hashed.bytes} bytes when hashed and ${bytes} when stored; nothing was committed`,
      );
    signed.files.push({ path, sha256: hashed.sha256, bytes, entries: rows.ns.length });
  }
  return { path, rows: rows.ns.length, bytes, minNs: String(min), maxNs: String(max) };
}

/** The file that replaces `small` (a compaction's merged file, `bytes` long, at `path`). */
export function mergedFile(path: string, bytes: number, small: readonly LakeFile[]): LakeFile {
  let min = BigInt(small[0]?.minNs ?? 0);
  let max = BigInt(small[0]?.maxNs ?? 0);
  for (const f of small) {
    if (BigInt(f.minNs) < min) min = BigInt(f.minNs);
    if (BigInt(f.maxNs) > max) max = BigInt(f.maxNs);
  }
  return { path, rows: small.reduce((n, f) => n + f.rows, 0), bytes, minNs: String(min), maxNs: String(max) };
}

/** Crash points of one kind of replacement (compaction names its steps; the migration has none). */
export interface SwapPoints {
  stateWritten?: CrashPoint;
  published?: CrashPoint;
  obsoleteDeleted?: CrashPoint;
}

/**
 * Commits `m` with `added` (durable under their hidden names) as its pending files: the state file
 * (the commit point), then publication.
 */
export async function commitFiles(
  storage: LakeStorage,
  m: LakeManifest,
  points: { stateWritten?: CrashPoint; published?: CrashPoint } = {},
): Promise<void> {
  await storage.writeState(m);
  if (points.stateWritten) crashPoint(points.stateWritten);
  await storage.publish(m.pending);
  if (m.pendingDigest !== undefined) await storage.publishDigest(m.pendingDigest);
  if (points.published) crashPoint(points.published);
  await storage.cleanup(m.pending);
}

/**
 * Replaces the files `gone` with `added` (durable under their hidden names): the state file lists
 * both, then the new files are published and the old ones deleted.
 */
export async function swapFiles(
  storage: LakeStorage,
  m: LakeManifest,
  added: readonly LakeFile[],
  gone: ReadonlySet<string>,
  points: SwapPoints = {},
): Promise<void> {
  m.seq += 1;
  m.files = [...m.files.filter((f) => !gone.has(f.path)), ...added];
  m.pending = added.map((f) => f.path);
  m.obsolete = [...gone];
  await commitFiles(storage, m, points);
  await storage.deleteObsolete([...gone], points.obsoleteDeleted);
  // What the state file still lists as pending and obsolete is done: the next open finds it so.
  m.pending = [];
  m.obsolete = [];
}

/**
 * Finishes what a crash cut short: pending publications, obsolete files, unlisted hidden files, and
 * with `signed` (a signed lake, or one about to be) the digests' (signing.ts).
 */
export async function recoverLake(storage: LakeStorage, m: LakeManifest, signed = false): Promise<void> {
  let changed = await storage.recover(m);
  if (signed || m.digest !== undefined) changed = (await recoverDigests(storage, m)) || changed;
  crashPoint(storage.points.recovered);
  if (changed && m.seq > 0) {
    m.pending = [];
    m.obsolete = [];
    delete m.pendingDigest;
    await storage.writeState(m);
  }
}

/**
 * Adds to `keys` those of the rows of the files at `paths` (local) dated in `[fromNs, beforeNs)` (to the end when
 * `beforeNs` is undefined): the key is the SHA-256 of the entry's JSON line (lineBytesKey), which
 * the `entry` column holds.
 */
export async function readKeysBack(
  db: DuckDBConnection,
  paths: readonly string[],
  keys: KeyTable,
  fromNs: bigint,
  beforeNs: bigint | undefined,
): Promise<void> {
  const sources = paths.map((p) => sqlString(p)).join(", ");
  // timestamp_text, not timestamp_ns: the exact time of every row, also outside the years
  // timestamp_ns can hold (where it is NULL), and its text order is time order.
  const text = (ns: bigint) => sqlString(formatTimestampExact(nsToTs(ns)));
  const result = await db.runAndReadAll(
    `SELECT sha256(entry), timestamp_text FROM read_parquet([${sources}], hive_partitioning = false)
     WHERE timestamp_text >= ${text(fromNs)}${beforeNs === undefined ? "" : ` AND timestamp_text < ${text(beforeNs)}`}`,
  );
  for (const [hash, time] of result.getRows()) {
    const ts = parseTs(String(time));
    if (ts === undefined)
      throw new Error(`the lake holds a row whose timestamp_text is not a time: ${String(time)}`);
    keys.set(Buffer.from(String(hash).slice(0, 24), "hex").toString("base64url"), tsToNs(ts));
  }
}
