/**
 * The export manifest (`FILE.manifest.json`): what was asked, the pinned window, and the last
 * committed point — bytes of `FILE.partial` that are durable, their SHA-256, and where the walk
 * stands. It is replaced atomically (temp file, fsync, rename, fsync of the directory) and only ever
 * describes data that was fsynced first, so after a crash the manifest never points past the data.
 */
import { unlink } from "node:fs/promises";
import { parseTs } from "../domain/timestamps.js";
import { readStateFile, writeFileAtomic } from "../state/durableFile.js";
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

/**
 * What an export is of: the log (endpoint, user id), the filters, the window as the user gave it,
 * the page size and the file's format. Resume refuses a manifest of a different identity, compared
 * as canonical JSON (keys sorted). More keys may come from the engine's identity.
 */
export interface ExportIdentity {
  endpoint?: string;
  userId?: string;
  filters: Record<string, unknown>;
  perPage: number;
  from?: string | null;
  to?: string | null;
  format: DataFormat;
  gzip: boolean;
  [key: string]: unknown;
}

/** The whole manifest. */
export interface Manifest {
  version: number;
  kind: "clarifai-audit-export";
  /** The export's identity; resume refuses a different one. */
  query: ExportIdentity;
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

/** Writes the manifest atomically. */
export async function writeManifest(out: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(manifestPath(out), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A manifest that cannot be used: `problem` says what is wrong with it. */
export class ManifestError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "ManifestError";
  }
}

type Check = (value: unknown) => boolean;
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const count: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const text: Check = (v) => typeof v === "string";
const bool: Check = (v) => typeof v === "boolean";
const timestamp: Check = (v) => typeof v === "string" && parseTs(v) !== undefined;
const FORMATS: readonly unknown[] = ["jsonl", "csv", "json"];

/** The first field of `value` that does not pass its check, as "path: what it should be". */
function firstProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "not a JSON object";
  if (value.kind !== "clarifai-audit-export") return "kind: not a clarifai-audit export manifest";
  if (value.version !== MANIFEST_VERSION)
    return `version: ${JSON.stringify(value.version)}, this version reads ${MANIFEST_VERSION}`;
  const fields: Array<[string, unknown, Check, string]> = [];
  const at = (path: string, v: unknown, check: Check, what: string) => fields.push([path, v, check, what]);
  at("query", value.query, isObject, "an object");
  at("format", value.format, (v) => FORMATS.includes(v), "jsonl, csv or json");
  at("gzip", value.gzip, bool, "true or false");
  at("perPage", value.perPage, (v) => count(v) && (v as number) >= 1, "an integer ≥ 1");
  at("updatedAt", value.updatedAt, text, "a string");
  const w = value.window;
  at("window", w, isObject, "an object");
  if (isObject(w))
    for (const k of ["from", "to", "pinnedAt"]) at(`window.${k}`, w[k], timestamp, "an RFC 3339 timestamp");
  const c = value.committed;
  at("committed", c, isObject, "an object");
  if (isObject(c)) {
    at("committed.bytes", c.bytes, count, "a byte count");
    at(
      "committed.sha256",
      c.sha256,
      (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v),
      "a SHA-256 in hex",
    );
    at("committed.entries", c.entries, count, "a count");
    at("committed.pages", c.pages, count, "a count");
    at("committed.sliceDone", c.sliceDone, bool, "true or false");
    at("committed.complete", c.complete, (v) => v === undefined || bool(v), "true, false or absent");
    const sl = c.slice;
    at("committed.slice", sl, isObject, "an object");
    if (isObject(sl)) {
      at("committed.slice.from", sl.from, timestamp, "an RFC 3339 timestamp");
      at("committed.slice.to", sl.to, timestamp, "an RFC 3339 timestamp");
      at("committed.slice.last", sl.last, bool, "true or false");
    }
    const cu = c.cursor;
    at("committed.cursor", cu, isObject, "an object");
    if (isObject(cu)) {
      at("committed.cursor.page", cu.page, (v) => count(v) && (v as number) >= 1, "a page number ≥ 1");
      at(
        "committed.cursor.boundary",
        cu.boundary,
        (v) => v === undefined || timestamp(v),
        "an RFC 3339 timestamp or absent",
      );
      at(
        "committed.cursor.boundaryKeys",
        cu.boundaryKeys,
        (v) => Array.isArray(v) && v.every(text),
        "an array of strings",
      );
    }
    const st = c.stats;
    at("committed.stats", st, isObject, "an object");
    if (isObject(st)) {
      for (const k of ["retries", "shiftedPages", "repeated", "stale"])
        at(`committed.stats.${k}`, st[k], count, "a count");
      at("committed.stats.requests", st.requests, (v) => v === undefined || count(v), "a count or absent");
    }
  }
  for (const [path, v, check, what] of fields) {
    if (!check(v))
      return `${path}: ${v === undefined ? "missing" : JSON.stringify(v)?.slice(0, 80)}, expected ${what}`;
  }
  return undefined;
}

/**
 * Parses and validates a manifest's text against its schema.
 * @throws ManifestError naming the first field that is wrong.
 */
export function parseManifest(path: string, text: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ManifestError(path, "not valid JSON");
  }
  const problem = firstProblem(parsed);
  if (problem !== undefined) throw new ManifestError(path, problem);
  return parsed as Manifest;
}

/** Reads the manifest, or undefined when there is none; throws {@link ManifestError} on a corrupt one. */
export async function readManifest(out: string): Promise<Manifest | undefined> {
  const path = manifestPath(out);
  const text = await readStateFile(
    path,
    (code) =>
      new ManifestError(
        path,
        code === "EISDIR" ? "a directory, not a manifest file" : `cannot read it (${code})`,
      ),
  );
  return text === undefined ? undefined : parseManifest(path, text);
}

/** Removes the manifest (after a finished export). */
export async function removeManifest(out: string): Promise<void> {
  await unlink(manifestPath(out)).catch(() => undefined);
}
