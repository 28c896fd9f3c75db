/**
 * The Parquet lake store: a Hive-partitioned dataset `DIR/audit_log/date=YYYY-MM-DD/*.parquet`
 * (zstd, written with DuckDB) and its state file (manifest.ts).
 *
 * A commit: (1) writes one file per UTC date of its new entries under a hidden temporary name and
 * fsyncs it; (2) replaces the state file (rows, cursor and keys together), listing the new files as
 * pending; (3) renames them into place and fsyncs their folders. A crash before (2) leaves the old
 * lake (the temporary files are unlisted and deleted on the next open); after it, the next open
 * finishes the renames. Readers that glob `*.parquet` never see a half-written file, and `query`
 * reads the state file's list, so nothing is lost or seen twice whatever instant a SIGKILL hits.
 */
import { randomBytes } from "node:crypto";
import { access, constants, mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { JsonlPageEncoder } from "../../codec/jsonlTranscoder.js";
import { lineBytesKey } from "../../domain/entryKey.js";
import { parseTs, tsToNs } from "../../domain/timestamps.js";
import type { ExportEntry, ExportEntryRange } from "../../export/sink.js";
import { fsyncDir, fsyncFile } from "../../state/durableFile.js";
import { acquireLock, type HeldLock, LockHeldError } from "../../state/lock.js";
import {
  type SyncCommit,
  type SyncIdentity,
  type SyncState,
  type SyncStore,
  SyncUsageError,
} from "../store.js";
import {
  decodeKeys,
  encodeKeys,
  type KeyTable,
  type LakeFile,
  type LakeManifest,
  locateFile,
  parquetProblem,
  readManifest,
  STATE_FILE,
  TABLE_DIR,
  tempPath,
  writeManifest,
} from "./manifest.js";
import {
  appendStaged,
  copyStageSql,
  LAKE_SCHEMA_VERSION,
  parquetOptions,
  partitionDates,
  resetStage,
  STAGE_TABLE,
  type StagedRows,
  sqlString,
} from "./schema.js";

/** Options of {@link createLakeStore}. */
export interface LakeStoreOptions {
  /** The lake's folder (created when missing). */
  dir: string;
  /** A partition is compacted once it holds this many small files (default 8). */
  compactAt?: number;
  /** Files below this size are small (default 16 MiB). */
  smallFileBytes?: number;
  /**
   * `lean` (default): DuckDB hands the memory a commit freed back to the system after each
   * statement, which keeps a 1M-entry sync under 250 MB but costs page faults (about twice the
   * DuckDB CPU); `fast`: DuckDB keeps it cached.
   */
  memory?: "lean" | "fast";
}

/** Canonical JSON (sorted keys), to compare identities. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function describeIdentity(identity: SyncIdentity): string {
  const filters = canonicalJson(identity.query);
  return `user ${identity.userId} at ${identity.endpoint}${filters === "{}" ? "" : ` (filters ${filters})`}`;
}

class LakeStore implements SyncStore {
  readonly description: string;
  /**
   * A commit's lines are staged in DuckDB and written in one COPY, so its size is what the process's
   * peak memory is made of: 10 000 kept a 1M-entry sync under 250 MB (bench/notes.md).
   */
  readonly commitEntries = 10_000;
  readonly #dir: string;
  readonly #compactAt: number;
  readonly #smallFileBytes: number;
  readonly #memory: "lean" | "fast";
  #lock: HeldLock | undefined;
  #manifest: LakeManifest | undefined;
  #keys: KeyTable = new Map();
  #instance: DuckDBInstance | undefined;
  #db: DuckDBConnection | undefined;
  /** Reused by every commit (one runs at a time): a commit's lines, and where each ends. */
  readonly #encoder = new JsonlPageEncoder();
  readonly #ends: number[] = [];

  constructor(options: LakeStoreOptions) {
    this.#dir = resolve(options.dir);
    this.description = options.dir;
    this.#compactAt = options.compactAt ?? 8;
    this.#smallFileBytes = options.smallFileBytes ?? 16 * 1024 * 1024;
    this.#memory = options.memory ?? "lean";
  }

  async open(identity: SyncIdentity): Promise<SyncState | undefined> {
    const dir = this.#dir;
    const info = await stat(dir).catch(() => undefined);
    if (info !== undefined && !info.isDirectory())
      throw new SyncUsageError(`--to: ${this.description} is not a directory`);
    if (info === undefined) {
      await mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        throw new SyncUsageError(`--to: cannot create ${this.description} (${error.code ?? error.message})`);
      });
    }
    try {
      await access(dir, constants.W_OK | constants.X_OK);
    } catch {
      throw new SyncUsageError(`--to: ${this.description} is not writable`);
    }
    try {
      this.#lock = await acquireLock(join(dir, STATE_FILE));
    } catch (error) {
      if (error instanceof LockHeldError)
        throw new SyncUsageError(`--to: another sync is running on ${this.description} (${error.message})`);
      throw new SyncUsageError(`--to: cannot lock ${this.description} (${(error as Error).message})`);
    }
    try {
      return await this.#load(identity);
    } catch (error) {
      await this.#lock.release();
      this.#lock = undefined;
      throw error;
    }
  }

  async #load(identity: SyncIdentity): Promise<SyncState | undefined> {
    const dir = this.#dir;
    const manifest = await readManifest(dir);
    if (manifest === undefined) {
      const table = await readdir(join(dir, TABLE_DIR)).catch(() => []);
      if (table.length > 0)
        throw new SyncUsageError(
          `--to: ${this.description} holds ${TABLE_DIR}/ but no ${STATE_FILE}; it was not written by clarifai-audit sync (use an empty folder)`,
        );
    } else {
      const held = manifest.state.identity;
      if (canonicalJson(held) !== canonicalJson(identity))
        throw new SyncUsageError(
          `--to: ${join(this.description, STATE_FILE)} holds the log of ${describeIdentity(held)}; this sync is for ${describeIdentity(identity)} (use another folder)`,
        );
      // Everything is checked before anything is changed.
      for (const file of manifest.files) {
        const at = await locateFile(dir, file, manifest.pending);
        const problem = await parquetProblem(at, file.bytes);
        if (problem !== undefined)
          throw new SyncUsageError(
            `${at} is not a valid Parquet file of this lake (${problem}); nothing was changed`,
          );
      }
      try {
        this.#keys = decodeKeys(manifest.keys);
      } catch (error) {
        throw new SyncUsageError(
          `${join(this.description, STATE_FILE)} is damaged (${(error as Error).message})`,
        );
      }
    }
    this.#manifest = manifest ?? {
      kind: "clarifai-audit-lake",
      schemaVersion: LAKE_SCHEMA_VERSION,
      seq: 0,
      state: {
        version: 1,
        identity,
        totals: { entries: 0, late: 0, runs: 0 },
        updatedAt: new Date().toISOString(),
      },
      files: [],
      pending: [],
      obsolete: [],
      keys: "",
    };
    await this.#recover();
    this.#instance = await DuckDBInstance.create(":memory:");
    this.#db = await this.#instance.connect();
    // A commit's rows are all DuckDB holds; its default (80% of RAM) would let caches grow unchecked.
    await this.#db.run("SET memory_limit = '192MB'");
    // One thread: a commit's COPY already runs beside the walk (a second thread measured more CPU for
    // no less time on two cores), and each thread keeps its own buffers.
    await this.#db.run("SET threads = 1");
    if (this.#memory === "lean") {
      // Hand freed memory back after each statement instead of caching up to 128 MiB (512 MiB after
      // bulk frees): without it the process grows commit by commit (bench/notes.md).
      await this.#db.run("SET allocator_flush_threshold = '1MB'");
      await this.#db.run("SET allocator_bulk_deallocation_flush_threshold = '1MB'");
    }
    return manifest?.state;
  }

  /** Finishes what a crash cut short: pending renames, obsolete files, unlisted temporary files. */
  async #recover(): Promise<void> {
    const m = this.#manifest as LakeManifest;
    const dir = this.#dir;
    let changed = false;
    for (const path of m.pending) {
      const tmp = join(dir, tempPath(path));
      if (await exists(tmp)) {
        await rename(tmp, join(dir, path));
        await fsyncDir(dirname(join(dir, path)));
      }
      changed = true;
    }
    for (const path of m.obsolete) {
      await unlink(join(dir, path)).catch(() => undefined);
      changed = true;
    }
    const partitions = await readdir(join(dir, TABLE_DIR)).catch(() => [] as string[]);
    for (const partition of partitions) {
      const names = await readdir(join(dir, TABLE_DIR, partition)).catch(() => [] as string[]);
      for (const name of names) {
        if (name.startsWith(".") && name.endsWith(".parquet.tmp"))
          await unlink(join(dir, TABLE_DIR, partition, name)).catch(() => undefined);
      }
    }
    await unlink(join(dir, `${STATE_FILE}.tmp`)).catch(() => undefined);
    if (changed && m.seq > 0) {
      m.pending = [];
      m.obsolete = [];
      await writeManifest(dir, m);
    }
  }

  async commit(commit: SyncCommit): Promise<{ inserted: number; late: number }> {
    const m = this.#manifest;
    const db = this.#db;
    if (m === undefined || db === undefined) throw new Error("the lake store is not open");
    const lateNs = commit.lateAtOrBefore !== undefined ? nsOf(commit.lateAtOrBefore) : undefined;
    const entries = commit.entries;
    // The commit's lines as one buffer: keys are hashed and rows staged from its bytes, so no
    // entry becomes a string on the way.
    const ends = this.#ends;
    const jsonl = this.#encoder.encodeLines(entries.map(rangeOf), ends);
    const byDate = new Map<string, StagedRows>();
    const dateOf = partitionDates();
    let late = 0;
    let inserted = 0;
    for (let i = 0; i < entries.length; i++) {
      const prefix = lineBytesKey(jsonl, i === 0 ? 0 : (ends[i - 1] as number) + 1, ends[i]).slice(0, 16);
      if (this.#keys.has(prefix)) continue;
      const ns = tsToNs((entries[i] as ExportEntry).timestamp);
      this.#keys.set(prefix, ns);
      inserted++;
      if (lateNs !== undefined && ns <= lateNs) late++;
      const date = dateOf(ns);
      let rows = byDate.get(date);
      if (rows === undefined) {
        rows = { jsonl, ends, lines: [], ns: [] };
        byDate.set(date, rows);
      }
      rows.lines.push(i);
      rows.ns.push(ns);
    }
    const seq = m.seq + 1;
    const added: LakeFile[] = [];
    let part = 0;
    for (const [date, rows] of byDate) {
      const path = `${TABLE_DIR}/date=${date}/part-${String(seq).padStart(8, "0")}-${part++}-${randomBytes(4).toString("hex")}.parquet`;
      added.push(await this.#writeFile(db, path, rows));
    }
    if (commit.forgetKeysBefore !== undefined) {
      const forget = nsOf(commit.forgetKeysBefore);
      for (const [prefix, ns] of this.#keys) if (ns < forget) this.#keys.delete(prefix);
    }
    const totals = commit.state.totals;
    m.seq = seq;
    m.state = {
      ...commit.state,
      totals: { entries: totals.entries + inserted, late: totals.late + late, runs: totals.runs },
    };
    m.files = [...m.files, ...added];
    m.pending = added.map((f) => f.path);
    m.obsolete = [];
    m.keys = encodeKeys(this.#keys);
    await writeManifest(this.#dir, m);
    await this.#publish(m.pending);
    for (const date of byDate.keys()) await this.#maybeCompact(db, date);
    return { inserted, late };
  }

  /** Renames pending files into place (the commit point was the state file). */
  async #publish(paths: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const path of paths) {
      await rename(join(this.#dir, tempPath(path)), join(this.#dir, path));
      dirs.add(dirname(join(this.#dir, path)));
    }
    for (const d of dirs) await fsyncDir(d);
  }

  /** Writes `rows` (window order) to the temporary name of `path`, durably. */
  async #writeFile(db: DuckDBConnection, path: string, rows: StagedRows): Promise<LakeFile> {
    const partitionDir = dirname(join(this.#dir, path));
    const created = !(await exists(partitionDir));
    await mkdir(partitionDir, { recursive: true });
    if (created) {
      await fsyncDir(dirname(partitionDir));
      await fsyncDir(this.#dir);
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
    const tmp = join(this.#dir, tempPath(path));
    const written = (await db.run(copyStageSql(tmp))).rowsChanged;
    if (written !== rows.ns.length)
      throw new Error(
        `the lake wrote ${written} rows of ${rows.ns.length} to ${path}; nothing was committed`,
      );
    await fsyncFile(tmp);
    const bytes = (await stat(tmp)).size;
    return { path, rows: rows.ns.length, bytes, minNs: String(min), maxNs: String(max) };
  }

  /**
   * Merges the small files of a partition into one when they pile up (each `--follow` run adds
   * one): the merged file is committed like new data, then the old files are deleted.
   */
  async #maybeCompact(db: DuckDBConnection, date: string): Promise<void> {
    const m = this.#manifest as LakeManifest;
    const prefix = `${TABLE_DIR}/date=${date}/`;
    const small = m.files.filter((f) => f.path.startsWith(prefix) && f.bytes < this.#smallFileBytes);
    if (small.length < this.#compactAt) return;
    const seq = m.seq + 1;
    const path = `${prefix}part-${String(seq).padStart(8, "0")}-c-${randomBytes(4).toString("hex")}.parquet`;
    const tmp = join(this.#dir, tempPath(path));
    const sources = small.map((f) => sqlString(join(this.#dir, f.path))).join(", ");
    await db.run(
      `COPY (SELECT * FROM read_parquet([${sources}], hive_partitioning = false) ORDER BY timestamp_ns) TO ${sqlString(tmp)} (${parquetOptions()})`,
    );
    await fsyncFile(tmp);
    const rows = small.reduce((n, f) => n + f.rows, 0);
    const merged: LakeFile = {
      path,
      rows,
      bytes: (await stat(tmp)).size,
      minNs: String(
        small.reduce((a, f) => (BigInt(f.minNs) < a ? BigInt(f.minNs) : a), BigInt(small[0]?.minNs ?? 0)),
      ),
      maxNs: String(
        small.reduce((a, f) => (BigInt(f.maxNs) > a ? BigInt(f.maxNs) : a), BigInt(small[0]?.maxNs ?? 0)),
      ),
    };
    const gone = new Set(small.map((f) => f.path));
    m.seq = seq;
    m.files = [...m.files.filter((f) => !gone.has(f.path)), merged];
    m.pending = [path];
    m.obsolete = [...gone];
    await writeManifest(this.#dir, m);
    await this.#publish(m.pending);
    for (const old of gone) await unlink(join(this.#dir, old)).catch(() => undefined);
    await fsyncDir(join(this.#dir, prefix));
  }

  async close(): Promise<void> {
    this.#db?.closeSync();
    this.#instance?.closeSync();
    this.#db = undefined;
    this.#instance = undefined;
    await this.#lock?.release();
    this.#lock = undefined;
  }
}

/** An entry's bytes as a range: the engine's entries are ranges of their reply already. */
function rangeOf(entry: ExportEntry): ExportEntryRange {
  if ((entry as Partial<ExportEntryRange>).source !== undefined) return entry as unknown as ExportEntryRange;
  const bytes = entry.bytes;
  return { source: bytes, start: 0, end: bytes.length };
}

function nsOf(text: string): bigint {
  const ts = parseTs(text);
  if (ts === undefined) throw new Error(`not a timestamp: ${text}`);
  return tsToNs(ts);
}

/** A {@link SyncStore} that keeps the log as a Parquet lake in `options.dir`. */
export function createLakeStore(options: LakeStoreOptions): SyncStore {
  return new LakeStore(options);
}
