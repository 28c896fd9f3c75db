/**
 * The lake's state file, `DIR/_clarifai_sync.json`: the sync state, the list of committed Parquet
 * files (what the lake holds: `query` reads this list, never a glob), the files whose rename or
 * deletion a crash may have cut short, and the entry keys of the reconcile window. It is replaced
 * atomically (write a temporary file, fsync, rename, fsync the directory), so a reader sees the
 * previous commit or the next one.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, readStateFile, writeFileAtomic } from "../../state/durableFile.js";
import { type SyncState, SyncUsageError } from "../store.js";
import { LAKE_SCHEMA_VERSION } from "./schema.js";

/** Name of the state file inside DIR. */
export const STATE_FILE = "_clarifai_sync.json";
/** The folder of the table inside DIR (the Hive partitions `date=YYYY-MM-DD` are below it). */
export const TABLE_DIR = "audit_log";

/** One committed Parquet file. */
export interface LakeFile {
  /** Relative to DIR, `/`-separated: `audit_log/date=YYYY-MM-DD/part-….parquet`. */
  path: string;
  rows: number;
  bytes: number;
  /** Oldest and newest `timestamp_ns` in the file. */
  minNs: string;
  maxNs: string;
}

/** The state file's content. */
export interface LakeManifest {
  kind: "clarifai-audit-lake";
  schemaVersion: number;
  /** Commits so far: file names carry it, so names never repeat. */
  seq: number;
  state: SyncState;
  files: LakeFile[];
  /** Listed files that may still be under their temporary name (see {@link tempPath}). */
  pending: string[];
  /** Files replaced by a compaction, still to delete. */
  obsolete: string[];
  /**
   * Entry keys the store still dedupes against: records of 8 bytes (timestamp, ns, big-endian) + 12
   * bytes (the first 96 bits of the entry key), base64.
   */
  keys: string;
}

/** The hidden name a file is written under before it is renamed into place (readers glob `*.parquet`). */
export function tempPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp`;
}

/** Key records: a 16-character base64url prefix of an entry key (96 bits) → timestamp ns. */
export type KeyTable = Map<string, bigint>;

const RECORD = 20;
const KEY_NS_MIN = -(2n ** 63n);
/** The largest timestamp a key record holds: one saved so stands for any instant from it on. */
export const KEY_NS_MAX = 2n ** 63n - 1n;

/**
 * Encodes {@link KeyTable} for {@link LakeManifest.keys}. A timestamp outside the record's 64 bits
 * (before 1677-09-21, after 2262-04-11) is saved as the nearest one it holds: a key is forgotten
 * when its timestamp is before a bound, which an earlier one still is and a later one, saved as
 * {@link KEY_NS_MAX}, is never taken to be (the store keeps those keys).
 */
export function encodeKeys(keys: KeyTable): string {
  const buf = Buffer.allocUnsafe(keys.size * RECORD);
  let at = 0;
  for (const [prefix, ns] of keys) {
    buf.writeBigInt64BE(ns < KEY_NS_MIN ? KEY_NS_MIN : ns > KEY_NS_MAX ? KEY_NS_MAX : ns, at);
    buf.write(prefix, at + 8, 12, "base64url");
    at += RECORD;
  }
  return buf.toString("base64");
}

/** Decodes {@link LakeManifest.keys}. */
export function decodeKeys(text: string): KeyTable {
  const buf = Buffer.from(text, "base64");
  if (buf.length % RECORD !== 0)
    throw new Error(`keys: ${buf.length} bytes is not a whole number of records`);
  const keys: KeyTable = new Map();
  for (let at = 0; at < buf.length; at += RECORD) {
    keys.set(buf.toString("base64url", at + 8, at + RECORD), buf.readBigInt64BE(at));
  }
  return keys;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads and checks the state file of `dir`; undefined when there is none. Throws
 * {@link SyncUsageError} for a file that is not a lake state, or one of a newer schema.
 */
export async function readManifest(dir: string): Promise<LakeManifest | undefined> {
  const path = join(dir, STATE_FILE);
  const text = await readStateFile(path, (code) => new SyncUsageError(`cannot read ${path}: ${code}`));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SyncUsageError(
      `${path} is not valid JSON (${(error as Error).message}); it is not a lake state file`,
    );
  }
  if (!isObject(parsed) || parsed.kind !== "clarifai-audit-lake")
    throw new SyncUsageError(`${path} is not a clarifai-audit lake state file`);
  if (typeof parsed.schemaVersion !== "number" || parsed.schemaVersion > LAKE_SCHEMA_VERSION)
    throw new SyncUsageError(
      `${path}: the lake has schema version ${String(parsed.schemaVersion)}; this clarifai-audit reads and writes version ${LAKE_SCHEMA_VERSION} (upgrade clarifai-audit)`,
    );
  const m = parsed as unknown as LakeManifest;
  if (
    !Array.isArray(m.files) ||
    !Array.isArray(m.pending) ||
    !Array.isArray(m.obsolete) ||
    typeof m.keys !== "string" ||
    !isObject(m.state) ||
    !isObject(m.state.identity) ||
    typeof m.seq !== "number"
  )
    throw new SyncUsageError(`${path} is damaged: a field is missing or of the wrong type`);
  return m;
}

/** Replaces the state file atomically and durably. */
export async function writeManifest(dir: string, manifest: LakeManifest): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), `${JSON.stringify(manifest)}\n`);
}

/**
 * Checks that `path` is a complete Parquet file of `bytes` bytes (size, and the `PAR1` magic at both
 * ends: a torn or truncated file fails); returns what is wrong, or undefined.
 */
export async function parquetProblem(path: string, bytes?: number): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, "r");
    const size = (await fh.stat()).size;
    if (bytes !== undefined && size !== bytes) return `${size} bytes, the state file says ${bytes} bytes`;
    if (size < 12) return `${size} bytes is too short`;
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    await fh.read(tail, 0, 4, size - 4);
    if (head.toString("latin1") !== "PAR1" || tail.toString("latin1") !== "PAR1")
      return "no Parquet magic bytes";
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "missing" : String(code ?? (error as Error).message);
  } finally {
    await fh?.close();
  }
}

/** Where a listed file is right now: its final name, or its temporary one while pending. */
export async function locateFile(dir: string, file: LakeFile, pending: readonly string[]): Promise<string> {
  const final = join(dir, file.path);
  if (!pending.includes(file.path) || (await pathExists(final))) return final;
  return join(dir, tempPath(file.path));
}
