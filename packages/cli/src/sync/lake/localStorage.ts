/**
 * The lake's storage in a local folder: files written by DuckDB in place under their hidden names
 * and fsynced, published by rename (then the folder fsynced), the state file replaced atomically,
 * a pid lock beside it (the state file's `.lock`).
 */
import { access, constants, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { CrashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import {
  fsyncDir,
  fsyncFile,
  makeDirs,
  pathExists,
} from "@clarifai-audit/client/internal/state/durableFile.js";
import { acquireLock, type HeldLock, LockHeldError } from "@clarifai-audit/client/internal/state/lock.js";
import { SyncUsageError } from "../store.js";
import {
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
