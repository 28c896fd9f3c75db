/**
 * Where a lake's files and state file live: a local folder (localStorage.ts) or S3 objects
 * (packages/cli/src/sync/s3/lakeStorage.ts). The commit protocol is the store's and the same on
 * both (files.ts, store.ts): new files go under hidden names ({@link tempPath}), the state file
 * lists them as pending (the commit point), they are published under their final names, replaced
 * ones deleted; the next open finishes what a crash cut short. A storage only says how each of
 * those steps is done durably where it keeps the lake.
 */
import type { CrashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { LakeFile, LakeManifest } from "./manifest.js";

/** The crash points of a storage's steps (each after the step named). */
export interface LakeStoragePoints {
  /** DuckDB wrote a commit's new file, not durable yet (a storage that makes it durable in place). */
  fileWritten?: CrashPoint;
  /** A commit's new file is durable under its hidden name. */
  fileStaged: CrashPoint;
  /** The state file is replaced: the commit point. */
  stateWritten: CrashPoint;
  /** A signed lake's commit digest is durable under its hidden name; the state not yet replaced. */
  digestStaged: CrashPoint;
  /** Every pending file is under its final name. */
  published: CrashPoint;
  /** A compaction's merged file is durable under its hidden name (a storage that compacts). */
  compactFileStaged?: CrashPoint;
  compactStateWritten?: CrashPoint;
  compactPublished?: CrashPoint;
  /** One obsolete file deleted. */
  obsoleteDeleted?: CrashPoint;
  /** Open finished a crashed commit, state not rewritten yet. */
  recovered: CrashPoint;
}

/** Local copies of lake files DuckDB can read, until released. */
export interface ReadableFiles {
  /** One local path per file, in order. */
  paths: string[];
  release(): Promise<void>;
}

/** See the module comment. */
export interface LakeStorage {
  /** The destination, for messages. */
  readonly description: string;
  /** The state file, for messages (`DIR/_clarifai_sync.json`). */
  readonly statePlace: string;
  readonly points: LakeStoragePoints;
  /** Whether the store merges a partition's small files (a storage where readers list files may not). */
  readonly compacts: boolean;
  /**
   * Creates or checks the destination and takes its exclusion (a second writer:
   * `SyncUsageError`); a no-op when it is still held from the run before ({@link close} with `keep`).
   */
  open(): Promise<void>;
  /**
   * The state file, checked (undefined when there is none); refuses a destination that holds a
   * table but no state file. Nothing is changed.
   */
  readState(): Promise<LakeManifest | undefined>;
  /** Checks that every listed file is present and complete (where it is now), before anything changes. */
  checkFiles(m: LakeManifest): Promise<void>;
  /** The local path DuckDB writes the file that will be `path` to. */
  scratchFor(path: string): Promise<string>;
  /** Makes the written `scratch` durable under `path`'s hidden name; returns its size. */
  stage(path: string, scratch: string): Promise<number>;
  /** Replaces the state file atomically (the commit point). */
  writeState(m: LakeManifest): Promise<void>;
  /** Puts the pending files under their final names (readers see them from here on). */
  publish(paths: readonly string[]): Promise<void>;
  /** After {@link publish}: removes what is left under the hidden names (S3 copies; a rename leaves nothing). */
  cleanup(paths: readonly string[]): Promise<void>;
  /** Deletes replaced files (a missing one is not an error), passing `point` after each. */
  deleteObsolete(paths: readonly string[], point?: CrashPoint): Promise<void>;
  /**
   * Finishes a crashed commit (pending publications, obsolete deletions) and deletes hidden files
   * the state does not list; returns whether the state's pending/obsolete lists need clearing.
   */
  recover(m: LakeManifest): Promise<boolean>;
  /**
   * A signed lake's digests (paths `_clarifai_digests/NAME`, manifest.ts's DIGESTS_DIR): `text`
   * made durable under the hidden name of `path` ({@link tempPath}).
   */
  stageDigest(path: string, text: string): Promise<void>;
  /** Puts a staged digest (under its hidden name) under its final name, leaving nothing under the hidden one. */
  publishDigest(path: string): Promise<void>;
  /** The bytes of the digest at `path` (its final name, else its hidden one), or undefined. */
  readDigest(path: string): Promise<Uint8Array | undefined>;
  /**
   * The digests' hidden names in the digests' folder, and the final names that sort after `after`
   * (every one when undefined): what recovery may delete, without listing the whole chain where
   * the storage can skip it (S3's StartAfter).
   */
  listDigests(after?: string): Promise<string[]>;
  /** Deletes digests by name inside the digests' folder (a missing one is not an error). */
  deleteDigests(names: readonly string[]): Promise<void>;
  /** Local paths of `files` for DuckDB to read. */
  readable(files: readonly LakeFile[]): Promise<ReadableFiles>;
  /** Releases the exclusion and connections; with `keep`, keeps the exclusion for the next open. */
  close(keep: boolean): Promise<void>;
}
