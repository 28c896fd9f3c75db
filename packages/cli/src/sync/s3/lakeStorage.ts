/**
 * The lake's storage below an S3 prefix (lake/storage.ts): the same table, partitions, file names
 * and state file as on disk, as objects. DuckDB writes each file to a local scratch file (the OS
 * temp folder), which is uploaded under its hidden name (`.part-….parquet.tmp`: Hive, Athena,
 * Trino, Spark and `*.parquet` globs skip names starting with `.` or `_`); the state object
 * `_clarifai_sync.json` is the commit point; publication is a server-side copy to the final name,
 * then the hidden object is deleted. An open finishes a crashed commit from the state object and
 * deletes the hidden objects it does not list.
 *
 * The state object is written with If-Match on the ETag this writer last saw (If-None-Match for
 * the first) where the server has conditional writes; elsewhere the lock object (lakeLock.ts) is
 * read back before each state write. Either way a second writer stops before its state write.
 */
import { mkdtemp, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_DIGEST_BYTES, seqOfDigestName } from "@clarifai-audit/client/internal/digest/document.js";
import { type CrashPoint, crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import {
  DIGESTS_DIR,
  isHiddenDigestName,
  type LakeFile,
  type LakeManifest,
  MAX_LAKE_STATE_BYTES,
  parseManifest,
  STATE_FILE,
  TABLE_DIR,
  tempPath,
} from "../lake/manifest.js";
import type { LakeStorage, LakeStoragePoints, ReadableFiles } from "../lake/storage.js";
import { SyncUsageError } from "../store.js";
import { type Bucket, openBucket, PreconditionFailedError, type S3Env } from "./bucket.js";
import { DEFAULT_LOCK_TIMING, type LockTiming, S3WriterLock } from "./lakeLock.js";
import type { S3Target } from "./url.js";

const POINTS: LakeStoragePoints = {
  fileStaged: "s3.file-uploaded",
  digestStaged: "s3.digest-staged",
  stateWritten: "s3.state-written",
  published: "s3.published",
  recovered: "s3.recovered",
};

/** Whether `key` (below the prefix) is a hidden name this store uploads under. */
function isHidden(key: string): boolean {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.startsWith(".") && name.endsWith(".parquet.tmp");
}

/** Options of {@link s3LakeStorage}. */
export interface S3LakeStorageOptions {
  env: S3Env;
  lock?: LockTiming;
}

class S3LakeStorage implements LakeStorage {
  readonly description: string;
  readonly statePlace: string;
  readonly points = POINTS;
  /**
   * No compaction: readers of a bucket list its objects (they cannot read the state object's list),
   * and a merged file and the files it replaces cannot swap in one step there: readers would see
   * the rows twice between the copy and the deletions.
   */
  readonly compacts = false;
  readonly #target: S3Target;
  readonly #options: S3LakeStorageOptions;
  #bucket: Bucket | undefined;
  #lock: S3WriterLock | undefined;
  #scratch: string | undefined;
  /** The state object's ETag as this writer last read or wrote it; undefined: there is none. */
  #stateEtag: string | undefined;

  constructor(target: S3Target, options: S3LakeStorageOptions) {
    this.#target = target;
    this.#options = options;
    this.description = target.description;
    this.statePlace = `${target.description}/${STATE_FILE}`;
  }

  get #b(): Bucket {
    if (this.#bucket === undefined) throw new Error(`${this.description}: the S3 lake is not open`);
    return this.#bucket;
  }

  async open(): Promise<void> {
    if (this.#bucket !== undefined) return;
    const bucket = await openBucket(this.#target, this.#options.env);
    try {
      this.#lock = await S3WriterLock.take(bucket, this.#options.lock ?? DEFAULT_LOCK_TIMING);
      this.#scratch = await mkdtemp(join(tmpdir(), "clarifai-audit-s3-lake-"));
    } catch (error) {
      await this.#lock?.release();
      this.#lock = undefined;
      bucket.close();
      throw error;
    }
    this.#bucket = bucket;
  }

  async readState(): Promise<LakeManifest | undefined> {
    const found = await this.#b.get(STATE_FILE, { maxBytes: MAX_LAKE_STATE_BYTES });
    if (found === undefined) {
      this.#stateEtag = undefined;
      for await (const o of this.#b.list(`${TABLE_DIR}/`))
        if (!isHidden(o.key))
          throw SyncUsageError.store(
            `${this.description} holds ${TABLE_DIR}/ but no ${STATE_FILE}; it was not written by clarifai-audit sync (use an empty prefix)`,
          );
      return undefined;
    }
    this.#stateEtag = found.etag;
    return parseManifest(found.body, this.statePlace);
  }

  /** Sizes of the table's objects by key. */
  async #objects(): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for await (const o of this.#b.list(`${TABLE_DIR}/`)) sizes.set(o.key, o.size);
    return sizes;
  }

  async checkFiles(m: LakeManifest): Promise<void> {
    const sizes = await this.#objects();
    const pending = new Set(m.pending);
    for (const file of m.files) {
      const key = sizes.has(file.path) || !pending.has(file.path) ? file.path : tempPath(file.path);
      const size = sizes.get(key);
      if (size !== file.bytes)
        throw new SyncUsageError(
          `${this.description}/${key} is not a Parquet file of this lake (${size === undefined ? "missing" : `${size} bytes, the state object says ${file.bytes} bytes`}); nothing was changed`,
        );
    }
  }

  async scratchFor(path: string): Promise<string> {
    return join(this.#scratch as string, path.replaceAll("/", "_"));
  }

  async stage(path: string, scratch: string): Promise<number> {
    try {
      const size = (await stat(scratch)).size;
      await this.#b.putFile(tempPath(path), scratch);
      return size;
    } finally {
      await unlink(scratch).catch(() => undefined);
    }
  }

  async writeState(m: LakeManifest): Promise<void> {
    const bucket = this.#b;
    const body = Buffer.from(`${JSON.stringify(m)}\n`);
    if (!bucket.conditionalWrites) {
      await (this.#lock as S3WriterLock).check();
      this.#stateEtag = (await bucket.put(STATE_FILE, body, { contentType: "application/json" })).etag;
      return;
    }
    try {
      const condition = this.#stateEtag === undefined ? { ifNoneMatch: true } : { ifMatch: this.#stateEtag };
      this.#stateEtag = (
        await bucket.put(STATE_FILE, body, { ...condition, contentType: "application/json" })
      ).etag;
    } catch (error) {
      if (error instanceof PreconditionFailedError)
        throw SyncUsageError.store(
          `another writer changed ${this.statePlace} since this sync read it; this sync stops (what it wrote is not listed and is deleted by the next open)`,
        );
      throw error;
    }
  }

  async publish(paths: readonly string[]): Promise<void> {
    for (const path of paths) {
      await this.#b.copy(tempPath(path), path);
      crashPoint("s3.copied");
    }
  }

  async cleanup(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.#b.delete(paths.map(tempPath));
    crashPoint("s3.hidden-deleted");
  }

  async deleteObsolete(paths: readonly string[], point?: CrashPoint): Promise<void> {
    for (const path of paths) {
      await this.#b.delete([path]);
      if (point) crashPoint(point);
    }
  }

  async recover(m: LakeManifest): Promise<boolean> {
    const sizes = await this.#objects();
    let changed = m.pending.length > 0 || m.obsolete.length > 0;
    // A pending file whose hidden object is gone was copied and cleaned up already.
    const copying = m.pending.filter((p) => sizes.has(tempPath(p)));
    await this.publish(copying);
    await this.deleteObsolete(m.obsolete.filter((p) => sizes.has(p)));
    const unlisted = [...sizes.keys()].filter(isHidden);
    if (unlisted.length > 0) {
      await this.#b.delete(unlisted);
      changed ||= copying.length > 0;
    }
    return changed;
  }

  async stageDigest(path: string, text: string): Promise<void> {
    await this.#b.put(tempPath(path), Buffer.from(text), { contentType: "application/json" });
  }

  async publishDigest(path: string): Promise<void> {
    await this.#b.copy(tempPath(path), path);
    await this.#b.delete([tempPath(path)]);
  }

  async readDigest(path: string): Promise<Uint8Array | undefined> {
    for (const key of [path, tempPath(path)]) {
      const found = await this.#b.get(key, { maxBytes: MAX_DIGEST_BYTES });
      if (found !== undefined) return found.body;
    }
    return undefined;
  }

  async listDigests(after?: string): Promise<string[]> {
    const names: string[] = [];
    // Two short listings, not the whole chain: the hidden names (`.…`), then the final names after
    // `after` (a digest's name sorts by its number; `.` sorts before every digit).
    for await (const o of this.#b.list(`${DIGESTS_DIR}/.`)) {
      const name = o.key.slice(DIGESTS_DIR.length + 1);
      if (isHiddenDigestName(name)) names.push(name);
    }
    const from = after === undefined ? {} : { startAfter: `${DIGESTS_DIR}/${after}` };
    for await (const o of this.#b.list(`${DIGESTS_DIR}/`, from)) {
      const name = o.key.slice(DIGESTS_DIR.length + 1);
      if (seqOfDigestName(name) !== undefined) names.push(name);
    }
    return names;
  }

  async deleteDigests(names: readonly string[]): Promise<void> {
    await this.#b.delete(names.map((n) => `${DIGESTS_DIR}/${n}`));
  }

  async readable(files: readonly LakeFile[]): Promise<ReadableFiles> {
    const paths: string[] = [];
    const release = async () => {
      for (const p of paths) await unlink(p).catch(() => undefined);
    };
    try {
      for (const file of files) {
        const found = await this.#b.get(file.path, { maxBytes: file.bytes });
        if (found === undefined) throw new Error(`${this.description}/${file.path} is missing`);
        const local = join(this.#scratch as string, `read-${paths.length}-${file.path.replaceAll("/", "_")}`);
        paths.push(local);
        await writeFile(local, found.body);
      }
    } catch (error) {
      await release();
      throw error;
    }
    return { paths, release };
  }

  async close(keep: boolean): Promise<void> {
    if (keep) return;
    await this.#lock?.release();
    this.#lock = undefined;
    this.#bucket?.close();
    this.#bucket = undefined;
    if (this.#scratch !== undefined) await rm(this.#scratch, { recursive: true, force: true });
    this.#scratch = undefined;
  }
}

/** The storage of a lake below `target`'s prefix (opened, with its lock, by the store's open). */
export function s3LakeStorage(target: S3Target, options: S3LakeStorageOptions): LakeStorage {
  return new S3LakeStorage(target, options);
}
