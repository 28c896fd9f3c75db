/**
 * The Parquet lake store: a Hive-partitioned dataset `DIR/audit_log/date=YYYY-MM-DD/*.parquet`
 * (zstd, written with DuckDB) and its state file (manifest.ts), in a local folder or below an S3
 * prefix (storage.ts: the same protocol on both).
 *
 * A commit: (1) writes one file per UTC date of its new entries under a hidden temporary name,
 * durably; (2) replaces the state file (rows, cursor and keys together), listing the new files as
 * pending; (3) publishes them under their final names (a local rename; an S3 copy, then the hidden
 * object deleted). A crash before (2) leaves the old lake (the hidden files are unlisted and
 * deleted on the next open); after it, the next open finishes the publication. Readers that glob `*.parquet` never see a half-written file, and `query`
 * reads the state file's list, so nothing is lost or seen twice whatever instant a SIGKILL hits.
 */
import { randomBytes } from "node:crypto";
import type { SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { lineBytesKey } from "@clarifai-audit/client/internal/domain/entryKey.js";
import { parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { identityMismatch } from "@clarifai-audit/client/internal/export/identity.js";
import type { ExportEntry, ExportEntryRange } from "@clarifai-audit/client/internal/export/sink.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import { decodeKeys, encodeKeys, forgetKeys, type KeyTable, keyPrefix } from "../keyTable.js";
import {
  type SyncCommit,
  type SyncIdentity,
  type SyncState,
  type SyncStore,
  SyncUsageError,
} from "../store.js";
import {
  commitFiles,
  mergedFile,
  readKeysBack,
  recoverLake,
  type SignedFiles,
  swapFiles,
  writeLakeFile,
} from "./files.js";
import { localLakeStorage } from "./localStorage.js";
import { type LakeFile, type LakeManifest, TABLE_DIR } from "./manifest.js";
import {
  LAKE_SCHEMA_VERSION,
  parquetOptions,
  partitionDates,
  type StagedRows,
  sqlString,
  v1FileSelectSql,
} from "./schema.js";
import { LakeSigner } from "./signing.js";
import type { LakeStorage } from "./storage.js";
import { type LakeMemory, WRITERS, type Writer, WriterPool } from "./writerPool.js";

/** Options of {@link createLakeStore}. */
export interface LakeStoreOptions extends LakeTuning {
  /** The lake's folder (created when missing). */
  dir: string;
}

/** How a lake store writes, on any storage. */
export interface LakeTuning {
  /** A partition is compacted once it holds this many small files (default 8). */ compactAt?: number;
  /** Files below this size are small (default 16 MiB). */
  smallFileBytes?: number;
  /**
   * `lean` (default): one DuckDB writer, which hands the memory a commit freed back to the system
   * after each statement: a 1M-entry sync stays under 250 MB, but the page faults cost about twice
   * DuckDB's CPU. `fast`: two writers, so two commits write side by side, each keeping its memory
   * cached: about 3× the throughput at 1.8× the peak RSS (bench/notes.md).
   */
  memory?: LakeMemory;
  /**
   * Sign every commit (signing.ts): a digest per commit in `_clarifai_digests/`, chained. A signed
   * lake starts empty, is never compacted, and is refused without `sign`.
   */
  sign?: SignOptions;
}

/** The words of the refusal of a lake holding another log (the field names are mapped to flags). */
const MISMATCH = { reader: "this sync", remedy: "use another `store`, or the same filters" } as const;

class LakeStore implements SyncStore {
  readonly description: string;
  /**
   * A commit's lines are staged in DuckDB and written in one COPY, so its size is what the process's
   * peak memory is made of: 10 000 kept a 1M-entry sync under 250 MB (bench/notes.md).
   */
  readonly commitEntries = 10_000;
  /**
   * Commits writing their files at once, each on its own DuckDB connection (one thread each): with
   * one, the walk waited for DuckDB most of the run (bench/notes.md). They publish in order.
   */
  readonly commitsInFlight: number;
  readonly #storage: LakeStorage;
  readonly #compactAt: number;
  readonly #smallFileBytes: number;
  readonly #memory: LakeMemory;
  readonly #sign: SignOptions | undefined;
  /** The signer of this lake's commits, when signed (set at open). */
  #signer: LakeSigner | undefined;
  /** Set by {@link hold}: `close` keeps the lock. */
  #holding = false;
  #manifest: LakeManifest | undefined;
  #keys: KeyTable = new Map();
  #writers: WriterPool | undefined;
  /** The last commit's publication: each commit publishes after the one before it. */
  #published: Promise<void> = Promise.resolve();
  /** Names new files: the manifest's `seq` counts publications, which lag the commits in flight. */
  #fileSeq = 0;

  constructor(storage: LakeStorage, options: LakeTuning) {
    this.#storage = storage;
    this.description = storage.description;
    this.#compactAt = options.compactAt ?? 8;
    this.#smallFileBytes = options.smallFileBytes ?? 16 * 1024 * 1024;
    this.#memory = options.memory ?? "lean";
    this.#sign = options.sign;
    this.commitsInFlight = WRITERS[this.#memory];
  }

  async open(identity: SyncIdentity): Promise<SyncState | undefined> {
    await this.#storage.open();
    try {
      return await this.#load(identity);
    } catch (error) {
      await this.#storage.close(false);
      throw error;
    }
  }

  async #load(identity: SyncIdentity): Promise<SyncState | undefined> {
    const storage = this.#storage;
    const manifest = await storage.readState();
    if (manifest !== undefined) {
      const place = storage.statePlace;
      const held = manifest.state.identity;
      if (canonicalJson(held) !== canonicalJson(identity))
        throw SyncUsageError.store(identityMismatch({ ...MISMATCH, place, held, wanted: identity }));
      // Everything is checked before anything is changed.
      await storage.checkFiles(manifest);
      try {
        this.#keys = decodeKeys(manifest.keys);
      } catch (error) {
        throw new SyncUsageError(`${place} is damaged (${(error as Error).message})`);
      }
    }
    this.#signer = await LakeSigner.open(storage, manifest, this.#sign);
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
    await recoverLake(storage, this.#manifest as LakeManifest, this.#signer !== undefined);
    this.#fileSeq = this.#manifest.seq;
    this.#writers = await WriterPool.open(this.#memory);
    try {
      await this.#migrate();
    } catch (error) {
      this.#writers.close();
      this.#writers = undefined;
      throw error;
    }
    return manifest?.state;
  }

  /**
   * Brings a version 1 lake to {@link LAKE_SCHEMA_VERSION} before anything is added: every file is
   * rewritten with the new column and committed as a compaction is (new files hidden, the state
   * file lists them and the old ones as obsolete, renames, deletes), so a crash leaves the lake of
   * one version or the other, never both; a reader of the old version refuses the new one.
   */
  async #migrate(): Promise<void> {
    const m = this.#manifest as LakeManifest;
    if (m.schemaVersion >= LAKE_SCHEMA_VERSION) return;
    const storage = this.#storage;
    const added: LakeFile[] = [];
    const seq = String(++this.#fileSeq).padStart(8, "0");
    for (const [i, file] of m.files.entries()) {
      const path = `${file.path.slice(0, file.path.lastIndexOf("/") + 1)}part-${seq}-m${i}-${randomBytes(4).toString("hex")}.parquet`;
      const tmp = await storage.scratchFor(path);
      const source = await storage.readable([file]);
      try {
        await (this.#writers as WriterPool).run(
          `COPY (${v1FileSelectSql(source.paths)}) TO ${sqlString(tmp)} (${parquetOptions()})`,
        );
      } finally {
        await source.release();
      }
      added.push({ ...file, path, bytes: await storage.stage(path, tmp) });
    }
    m.schemaVersion = LAKE_SCHEMA_VERSION;
    await swapFiles(storage, m, added, new Set(m.files.map((f) => f.path)));
  }

  /**
   * Makes the keys cover every entry the lake holds dated at or after `from`. Commits forget the
   * keys older than their run's reconcile window, so a later run that reaches further back (a longer
   * --reconcile or --settle than the run before) would write those entries again: their keys are
   * read back from the files. The keys always cover every held entry from their oldest one on
   * (forgetting drops an oldest part), so only `[from, oldest key)` is read, and usually no file
   * overlaps it.
   */
  async prepare(from: string): Promise<void> {
    const m = this.#manifest;
    const writers = this.#writers;
    if (m === undefined || writers === undefined) throw new Error("the lake store is not open");
    const fromNs = nsOf(from);
    let oldest: bigint | undefined;
    for (const ns of this.#keys.values()) if (oldest === undefined || ns < oldest) oldest = ns;
    if (oldest !== undefined && oldest <= fromNs) return;
    const files = m.files.filter(
      (f) => BigInt(f.maxNs) >= fromNs && (oldest === undefined || BigInt(f.minNs) < oldest),
    );
    if (files.length === 0) return;
    const local = await this.#storage.readable(files);
    const writer = await writers.take();
    try {
      await readKeysBack(writer.db, local.paths, this.#keys, fromNs, oldest);
    } finally {
      writers.give(writer);
      await local.release();
    }
  }

  /**
   * A commit's new rows by partition, deduped against the keys, which it then updates: the lines are
   * one buffer, the writer's own, so no entry becomes a string on the way.
   */
  #stage(commit: SyncCommit, writer: Writer): StagedCommit {
    const lateNs = commit.lateAtOrBefore !== undefined ? nsOf(commit.lateAtOrBefore) : undefined;
    const entries = commit.entries;
    const ends = writer.ends;
    const jsonl = writer.encoder.encodeLines(entries.map(rangeOf), ends);
    const byDate = new Map<string, StagedRows>();
    const dateOf = partitionDates();
    let late = 0;
    let inserted = 0;
    for (let i = 0; i < entries.length; i++) {
      const prefix = keyPrefix(lineBytesKey(jsonl, i === 0 ? 0 : (ends[i - 1] as number) + 1, ends[i]));
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
    if (commit.forgetKeysBefore !== undefined) {
      forgetKeys(this.#keys, nsOf(commit.forgetKeysBefore));
    }
    // The keys as of this commit: a later one adds its own before this one is published.
    return { byDate, inserted, late, keys: encodeKeys(this.#keys) };
  }

  async commit(commit: SyncCommit): Promise<{ inserted: number; late: number }> {
    const writers = this.#writers;
    if (this.#manifest === undefined || writers === undefined) throw new Error("the lake store is not open");
    // Writers are taken in call order, and a commit is staged before its next await: the keys it
    // dedupes against are those of every commit before it.
    const writer = await writers.take();
    let staged: StagedCommit;
    try {
      staged = this.#stage(commit, writer);
      crashPoint("lake.staged");
    } catch (error) {
      writers.give(writer);
      // Commits after this one must not publish (their state's cursor is past its entries), and
      // close() still waits for those before it.
      this.#published = this.#published.finally(() => {
        throw error;
      });
      this.#published.catch(() => undefined);
      throw error;
    }
    const { byDate, inserted, late, keys } = staged;
    const fileSeq = String(++this.#fileSeq).padStart(8, "0");
    const before = this.#published;
    const signer = this.#signer;
    const signed: SignedFiles | undefined =
      signer === undefined ? undefined : { files: [], leaves: new LeafHashes() };
    const written = (async () => {
      try {
        const added: LakeFile[] = [];
        let part = 0;
        for (const [date, rows] of byDate) {
          const path = `${TABLE_DIR}/date=${date}/part-${fileSeq}-${part++}-${randomBytes(4).toString("hex")}.parquet`;
          added.push(await writeLakeFile(writer.db, this.#storage, path, rows, signed));
        }
        return added;
      } finally {
        writers.give(writer);
      }
    })();
    const published = (async () => {
      // Both settle first, so that close(), which waits for the last commit, waits for them all.
      const [files, previous] = await Promise.allSettled([written, before]);
      // A commit before this one failed: this one is not published either (the run fails).
      if (previous.status === "rejected") throw previous.reason;
      if (files.status === "rejected") throw files.reason;
      const added = files.value;
      const m = this.#manifest as LakeManifest;
      const totals = m.state.totals;
      const state: SyncState = {
        ...commit.state,
        totals: {
          entries: totals.entries + inserted,
          late: totals.late + late,
          runs: commit.state.totals.runs,
        },
      };
      const points = this.#storage.points;
      // Signed: the digest is staged (in publication order, so digests chain as commits land)
      // before the state file that names it as the head is written.
      const digest = signed === undefined ? undefined : await signer?.stageCommit(state, signed);
      if (digest !== undefined) crashPoint(points.digestStaged);
      m.seq += 1;
      m.state = state;
      m.files = [...m.files, ...added];
      m.pending = added.map((f) => f.path);
      m.obsolete = [];
      m.keys = keys;
      if (digest !== undefined) {
        m.digest = { seq: digest.seq, sha256: digest.hash };
        m.pendingDigest = digest.path;
      }
      await commitFiles(this.#storage, m, { stateWritten: points.stateWritten, published: points.published });
      // A signed lake's files are named by its digests: never merged.
      if (signer === undefined) for (const date of byDate.keys()) await this.#maybeCompact(date);
    })();
    this.#published = published;
    await published;
    return { inserted, late };
  }

  /**
   * Merges the small files of a partition into one when they pile up (each `--follow` run adds
   * one): the merged file is committed like new data, then the old files are deleted.
   */
  async #maybeCompact(date: string): Promise<void> {
    const m = this.#manifest as LakeManifest;
    const storage = this.#storage;
    if (!storage.compacts) return;
    const prefix = `${TABLE_DIR}/date=${date}/`;
    const small = m.files.filter((f) => f.path.startsWith(prefix) && f.bytes < this.#smallFileBytes);
    if (small.length < this.#compactAt) return;
    const path = `${prefix}part-${String(++this.#fileSeq).padStart(8, "0")}-c-${randomBytes(4).toString("hex")}.parquet`;
    const tmp = await storage.scratchFor(path);
    const local = await storage.readable(small);
    try {
      const sources = local.paths.map((p) => sqlString(p)).join(", ");
      await (this.#writers as WriterPool).run(
        `COPY (SELECT * FROM read_parquet([${sources}], hive_partitioning = false) ORDER BY timestamp_text) TO ${sqlString(tmp)} (${parquetOptions()})`,
      );
    } finally {
      await local.release();
    }
    const bytes = await storage.stage(path, tmp);
    if (storage.points.compactFileStaged) crashPoint(storage.points.compactFileStaged);
    const merged = mergedFile(path, bytes, small);
    const { compactStateWritten, compactPublished, obsoleteDeleted } = storage.points;
    await swapFiles(storage, m, [merged], new Set(small.map((f) => f.path)), {
      ...(compactStateWritten ? { stateWritten: compactStateWritten } : {}),
      ...(compactPublished ? { published: compactPublished } : {}),
      ...(obsoleteDeleted ? { obsoleteDeleted } : {}),
    });
  }

  /** A signed lake's newest digest, once open. */
  digestHead(): { seq: number; hash: string } | undefined {
    return this.#signer?.head;
  }

  /** The rows of the files the state file lists: what `query` reads. */
  async count(): Promise<number> {
    await this.#published;
    return (this.#manifest as LakeManifest).files.reduce((n, f) => n + f.rows, 0);
  }

  async close(): Promise<void> {
    // A failed run may leave commits writing: DuckDB is closed once they have stopped.
    await this.#published.catch(() => undefined);
    this.#writers?.close();
    this.#writers = undefined;
    await this.#storage.close(this.#holding);
  }

  hold(): void {
    this.#holding = true;
  }

  async release(): Promise<void> {
    this.#holding = false;
    await this.close();
  }
}

/** A commit's new rows by partition, how many (and how many late), and the keys after it. */
interface StagedCommit {
  byDate: Map<string, StagedRows>;
  inserted: number;
  late: number;
  keys: string;
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
  return new LakeStore(localLakeStorage(options.dir), options);
}

/** A {@link SyncStore} that keeps the log as a Parquet lake in `storage` (an S3 prefix, a folder). */
export function createLakeStoreOn(storage: LakeStorage, tuning: LakeTuning = {}): SyncStore {
  return new LakeStore(storage, tuning);
}
