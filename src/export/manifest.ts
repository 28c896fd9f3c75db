/**
 * The export manifest (`FILE.manifest.json`): what was asked, the pinned window, and the last
 * committed point — bytes of `FILE.partial` that are durable, their SHA-256, and where the walk
 * stands. It is replaced atomically (temp file, fsync, rename, fsync of the directory) and only ever
 * describes data that was fsynced first, so after a crash the manifest never points past the data.
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { DataFormat } from "./formats.js";

/** Manifest format version; bumped on incompatible changes. */
export const MANIFEST_VERSION = 1;

/** A slice in manifest form: RFC 3339 bounds. */
export interface ManifestSlice {
  from: string;
  to: string;
  last: boolean;
}

/** A committed point of the export. */
export interface ManifestCommit {
  /** Durable length of the partial file. */
  bytes: number;
  /** SHA-256 (hex) of those bytes. */
  sha256: string;
  entries: number;
  pages: number;
  /** The slice being walked and the cursor after the last written page. */
  slice: ManifestSlice;
  cursor: { page: number; boundary?: string; boundaryKeys: string[] };
  /** True when the slice above was walked to its end. */
  sliceDone: boolean;
  /** True once the footer is written: only the final rename (or gzip) is left. */
  complete?: boolean;
  stats: { retries: number; shiftedPages: number; repeated: number; stale: number; requests?: number };
}

/** The whole manifest. */
export interface Manifest {
  version: number;
  kind: "clarifai-audit-export";
  /** Canonical form of the request (filters, format, window as given); resume refuses a different one. */
  query: Record<string, unknown>;
  format: DataFormat;
  gzip: boolean;
  perPage: number;
  window: { from: string; to: string; pinnedAt: string };
  committed: ManifestCommit;
  updatedAt: string;
}

/** `FILE.manifest.json`. */
export function manifestPath(out: string): string {
  return `${out}.manifest.json`;
}

/** `FILE.partial`: the uncompressed data while the export runs. */
export function partialPath(out: string): string {
  return `${out}.partial`;
}

/** fsync a directory so a rename inside it is durable (no-op where directories cannot be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms refuse fsync on directories; the rename is still atomic there.
  } finally {
    await fh?.close();
  }
}

/** Atomically replaces `path` with `text`: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Writes the manifest atomically. */
export async function writeManifest(out: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(manifestPath(out), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads the manifest, or undefined when there is none; throws on a corrupt one. */
export async function readManifest(out: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(manifestPath(out), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Manifest;
  if (parsed.kind !== "clarifai-audit-export" || parsed.version !== MANIFEST_VERSION) {
    throw new Error(
      `${manifestPath(out)} is not a version ${MANIFEST_VERSION} clarifai-audit export manifest`,
    );
  }
  return parsed;
}

/** Removes the manifest (after a finished export). */
export async function removeManifest(out: string): Promise<void> {
  await unlink(manifestPath(out)).catch(() => undefined);
}
