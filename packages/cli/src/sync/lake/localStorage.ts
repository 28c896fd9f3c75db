/**
 * The lake's storage in a local folder: files written by DuckDB in place under their hidden names
 * and fsynced, published by rename (then the folder fsynced), the state file replaced atomically,
 * a pid lock beside it (the state file's `.lock`).
 */
import { access, constants, lstat, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MAX_DIGEST_BYTES, seqOfDigestName } from "@clarifai-audit/client/internal/digest/document.js";
import type { CrashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import {
  fsyncDir,
  fsyncFile,
  makeDirs,
  pathExists,
} from "@clarifai-audit/client/internal/state/durableFile.js";
import { acquireLock, type HeldLock, LockHeldError } from "@clarifai-audit/client/internal/state/lock.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import { SyncUsageError } from "../store.js";
import {
  DIGESTS_DIR,
  isHiddenDigestName,
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
import type { LakeStorage, LakeStoragePoints, ReadableFiles } from "./storage.js";

const POINTS: LakeStoragePoints = {
  fileWritten: "lake.file-written",
  fileStaged: "lake.file-synced",
  digestStaged: "lake.digest-staged",
  stateWritten: "lake.state-written",
  published: "lake.published",
  compactFileStaged: "lake.compact-file-synced",
  compactStateWritten: "lake.compact-state-written",
  compactPublished: "lake.compact-published",
  obsoleteDeleted: "lake.obsolete-deleted",
  recovered: "lake.recovered",
};

class LocalLakeStorage implements LakeStorage {
  readonly description: string;
  readonly statePlace: string;
  readonly points = POINTS;
  readonly compacts = true;
  readonly #dir: string;
  #lock: HeldLock | undefined;

  constructor(dir: string) {
    this.#dir = resolve(dir);
    this.description = dir;
    this.statePlace = join(dir, STATE_FILE);
  }

  async open(): Promise<void> {
    const dir = this.#dir;
    const info = await stat(dir).catch(() => undefined);
    if (info !== undefined && !info.isDirectory())
      throw SyncUsageError.store(`${this.description} is not a directory`);
    if (info === undefined) {
      await makeDirs(dir).catch((error: NodeJS.ErrnoException) => {
        throw SyncUsageError.store(`cannot create ${this.description} (${error.code ?? error.message})`);
      });
    }
    try {
      await access(dir, constants.W_OK | constants.X_OK);
    } catch {
      throw SyncUsageError.store(`${this.description} is not writable`);
    }
    try {
      // Held since the last run (hold): taking it again would find this live process holding it.
      this.#lock ??= await acquireLock(join(dir, STATE_FILE));
    } catch (error) {
      if (error instanceof LockHeldError)
        throw SyncUsageError.store(`another sync is running on ${this.description} (${error.message})`);
      throw SyncUsageError.store(`cannot lock ${this.description} (${(error as Error).message})`);
    }
  }

  async readState(): Promise<LakeManifest | undefined> {
    const manifest = await readManifest(this.#dir);
    if (manifest === undefined) {
      const table = await readdir(join(this.#dir, TABLE_DIR)).catch(() => []);
      if (table.length > 0)
        throw SyncUsageError.store(
          `${this.description} holds ${TABLE_DIR}/ but no ${STATE_FILE}; it was not written by clarifai-audit sync (use an empty folder)`,
        );
    }
    return manifest;
  }

  async checkFiles(m: LakeManifest): Promise<void> {
    for (const file of m.files) {
      const at = await locateFile(this.#dir, file, m.pending);
      const problem = await parquetProblem(at, file.bytes);
      if (problem !== undefined)
        throw new SyncUsageError(
          `${at} is not a valid Parquet file of this lake (${problem}); nothing was changed`,
        );
    }
  }

  async scratchFor(path: string): Promise<string> {
    const partitionDir = dirname(join(this.#dir, path));
    const created = !(await pathExists(partitionDir));
    await makeDirs(partitionDir);
    if (created) {
      await fsyncDir(dirname(partitionDir));
      await fsyncDir(this.#dir);
    }
    return join(this.#dir, tempPath(path));
  }

  async stage(_path: string, scratch: string): Promise<number> {
    await fsyncFile(scratch);
    return (await stat(scratch)).size;
  }

  async writeState(m: LakeManifest): Promise<void> {
    await writeManifest(this.#dir, m);
  }

  async publish(paths: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const path of paths) {
      await rename(join(this.#dir, tempPath(path)), join(this.#dir, path));
      crashPoint("lake.renamed");
      dirs.add(dirname(join(this.#dir, path)));
    }
    for (const d of dirs) await fsyncDir(d);
  }

  async cleanup(): Promise<void> {}

  async deleteObsolete(paths: readonly string[], point?: CrashPoint): Promise<void> {
    const dirs = new Set<string>();
    for (const old of paths) {
      await unlink(join(this.#dir, old)).catch(() => undefined);
      if (point) crashPoint(point);
      dirs.add(dirname(join(this.#dir, old)));
    }
    for (const d of dirs) await fsyncDir(d);
  }

  async recover(m: LakeManifest): Promise<boolean> {
    const dir = this.#dir;
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
    return changed;
  }

  /** The digests' folder, created (durably) when `create`; refused when it is not a real folder. */
  async #digestsDir(create: boolean): Promise<string | undefined> {
    const dir = join(this.#dir, DIGESTS_DIR);
    const info = await lstat(dir).catch(() => undefined);
    if (info === undefined) {
      if (!create) return undefined;
      await makeDirs(dir);
      await fsyncDir(this.#dir);
      return dir;
    }
    if (!info.isDirectory() || info.isSymbolicLink())
      throw new SyncUsageError(`${join(this.description, DIGESTS_DIR)} is not a folder; nothing was changed`);
    return dir;
  }

  async stageDigest(path: string, text: string): Promise<void> {
    await this.#digestsDir(true);
    const tmp = join(this.#dir, tempPath(path));
    await unlink(tmp).catch(() => undefined);
    const fh = await open(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsyncDir(dirname(tmp));
  }

  async publishDigest(path: string): Promise<void> {
    const tmp = join(this.#dir, tempPath(path));
    if (!(await pathExists(tmp))) return;
    await rename(tmp, join(this.#dir, path));
    await fsyncDir(dirname(tmp));
  }

  async readDigest(path: string): Promise<Uint8Array | undefined> {
    const fail = (problem: string) =>
      new SyncUsageError(`${join(this.description, path)} ${problem}; nothing was changed`);
    for (const p of [path, tempPath(path)]) {
      const bytes = await readRegularFile(join(this.#dir, p), MAX_DIGEST_BYTES, fail, "a digest");
      if (bytes !== undefined) return bytes;
    }
    return undefined;
  }

  async listDigests(after?: string): Promise<string[]> {
    const dir = await this.#digestsDir(false);
    if (dir === undefined) return [];
    const names = await readdir(dir);
    return names.filter(
      (n) =>
        isHiddenDigestName(n) || (seqOfDigestName(n) !== undefined && (after === undefined || n > after)),
    );
  }

  async deleteDigests(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const dir = join(this.#dir, DIGESTS_DIR);
    for (const name of names) {
      // Only regular files are deleted (a link is left alone).
      const info = await lstat(join(dir, name)).catch(() => undefined);
      if (info?.isFile()) await unlink(join(dir, name)).catch(() => undefined);
    }
    await fsyncDir(dir);
  }

  async readable(files: readonly LakeFile[]): Promise<ReadableFiles> {
    return { paths: files.map((f) => join(this.#dir, f.path)), release: async () => undefined };
  }

  async close(keep: boolean): Promise<void> {
    if (keep) return;
    await this.#lock?.release();
    this.#lock = undefined;
  }
}

/** The storage of a lake in the folder `dir` (created when missing). */
export function localLakeStorage(dir: string): LakeStorage {
  return new LocalLakeStorage(dir);
}
