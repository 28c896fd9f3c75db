/**
 * How the lake's files are written and how they change: a commit's new file is staged in DuckDB
 * and written under a hidden temporary name; a set of files is replaced by new ones
 * (compaction, the schema migration) in the commit protocol of new data — new files written under
 * hidden temporary names and fsynced, the state file lists them as pending and the replaced ones as
 * obsolete, renames, deletes — and a crash in the middle of any of it is finished on the next open.
 */
import { readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { formatTimestampExact } from "@clarifai-audit/client/internal/domain/time.js";
import { nsToTs, parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { type CrashPoint, crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import {
  fsyncDir,
  fsyncFile,
  makeDirs,
  pathExists,
} from "@clarifai-audit/client/internal/state/durableFile.js";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { KeyTable } from "../keyTable.js";
import { type LakeFile, type LakeManifest, TABLE_DIR, tempPath, writeManifest } from "./manifest.js";
import { appendStaged, copyStageSql, resetStage, STAGE_TABLE, type StagedRows, sqlString } from "./schema.js";

/** Writes `rows` (window order) to the temporary name of `path`, durably. */
export async function writeLakeFile(
  db: DuckDBConnection,
  dir: string,
  path: string,
  rows: StagedRows,
): Promise<LakeFile> {
  const partitionDir = dirname(join(dir, path));
  const created = !(await pathExists(partitionDir));
  await makeDirs(partitionDir);
  if (created) {
    await fsyncDir(dirname(partitionDir));
    await fsyncDir(dir);
  }
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
  const tmp = join(dir, tempPath(path));
  const written = (await db.run(copyStageSql(tmp))).rowsChanged;
  if (written !== rows.ns.length)
    throw new Error(`the lake wrote ${written} rows of ${rows.ns.length} to ${path}; nothing was committed`);
  crashPoint("lake.file-written");
  await fsyncFile(tmp);
  crashPoint("lake.file-synced");
  const bytes = (await stat(tmp)).size;
  return { path, rows: rows.ns.length, bytes, minNs: String(min), maxNs: String(max) };
}

/** Renames pending files into place (the commit point was the state file). */
export async function publishFiles(dir: string, paths: readonly string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const path of paths) {
    await rename(join(dir, tempPath(path)), join(dir, path));
    crashPoint("lake.renamed");
    dirs.add(dirname(join(dir, path)));
  }
  for (const d of dirs) await fsyncDir(d);
}

/** Crash points of one kind of replacement (compaction names its steps; the migration has none). */
export interface SwapPoints {
  stateWritten?: CrashPoint;
  published?: CrashPoint;
  obsoleteDeleted?: CrashPoint;
}

/**
 * Replaces the files `gone` with `added` (written and fsynced under their temporary names): the
 * state file lists both, then the new files are renamed into place and the old ones deleted.
 */
export async function swapFiles(
  dir: string,
  m: LakeManifest,
  added: readonly LakeFile[],
  gone: ReadonlySet<string>,
  points: SwapPoints = {},
): Promise<void> {
  m.seq += 1;
  m.files = [...m.files.filter((f) => !gone.has(f.path)), ...added];
  m.pending = added.map((f) => f.path);
  m.obsolete = [...gone];
  await writeManifest(dir, m);
  if (points.stateWritten) crashPoint(points.stateWritten);
  await publishFiles(dir, m.pending);
  if (points.published) crashPoint(points.published);
  const dirs = new Set<string>();
  for (const old of gone) {
    await unlink(join(dir, old)).catch(() => undefined);
    if (points.obsoleteDeleted) crashPoint(points.obsoleteDeleted);
    dirs.add(dirname(join(dir, old)));
  }
  for (const d of dirs) await fsyncDir(d);
  // What the state file still lists as pending and obsolete is done: the next open finds it so.
  m.pending = [];
  m.obsolete = [];
}

/** Finishes what a crash cut short: pending renames, obsolete files, unlisted temporary files. */
export async function recoverLake(dir: string, m: LakeManifest): Promise<void> {
  let changed = false;
  for (const path of m.pending) {
    const tmp = join(dir, tempPath(path));
    if (await pathExists(tmp)) {
      await rename(tmp, join(dir, path));
      await fsyncDir(dirname(join(dir, path)));
    }
    changed = true;
  }
  for (const path of m.obsolete) {
    await unlink(join(dir, path)).catch(() => undefined);
    changed = true;
  }
  const partitions = await readdir(join(dir, TABLE_DIR), { withFileTypes: true }).catch(() => []);
  for (const entry of partitions) {
    // A symbolic link among the partitions leads out of the lake: nothing is deleted through it.
    if (!entry.isDirectory()) continue;
    const partition = entry.name;
    const names = await readdir(join(dir, TABLE_DIR, partition)).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(".") && name.endsWith(".parquet.tmp"))
        await unlink(join(dir, TABLE_DIR, partition, name)).catch(() => undefined);
    }
  }
  crashPoint("lake.recovered");
  if (changed && m.seq > 0) {
    m.pending = [];
    m.obsolete = [];
    await writeManifest(dir, m);
  }
}

/**
 * Adds to `keys` those of the rows of `files` dated in `[fromNs, beforeNs)` (to the end when
 * `beforeNs` is undefined): the key is the SHA-256 of the entry's JSON line (lineBytesKey), which
 * the `entry` column holds.
 */
export async function readKeysBack(
  db: DuckDBConnection,
  dir: string,
  files: readonly LakeFile[],
  keys: KeyTable,
  fromNs: bigint,
  beforeNs: bigint | undefined,
): Promise<void> {
  const sources = files.map((f) => sqlString(join(dir, f.path))).join(", ");
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
