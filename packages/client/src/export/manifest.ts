/**
 * The export manifest (`FILE.manifest.json`): what was asked, the pinned window, and the last
 * committed point — bytes of `FILE.partial` that are durable, their SHA-256, and where the walk
 * stands. It is replaced atomically (temp file, fsync, rename, fsync of the directory) and only ever
 * describes data that was fsynced first, so after a crash the manifest never points past the data.
 */
import { unlink } from "node:fs/promises";
import { ClarifaiAuditError } from "../domain/errors.js";
import { writeFileAtomic } from "../state/durableFile.js";
import { COUNT, TIMESTAMP } from "../state/schemaParts.js";
import { readValidatedState, StateFileError, type StateSpec, validateState } from "../state/stateReader.js";
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
  /** A signed export's newest digest (`FILE.digests/`), committed with this manifest. */
  digest?: { seq: number; sha256: string };
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
export class ManifestError extends ClarifaiAuditError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "ManifestError";
  }
}

const object = (required: string[], properties: Record<string, object>) =>
  ({ type: "object", additionalProperties: false, required, properties }) as const;

const HEX64 = { type: "string", pattern: "^[0-9a-f]{64}$", description: "a SHA-256 in hex" } as const;

/** The JSON Schema of {@link Manifest}. */
export const MANIFEST_SCHEMA = object(
  ["version", "kind", "query", "format", "gzip", "perPage", "window", "committed", "updatedAt"],
  {
    version: { const: MANIFEST_VERSION },
    kind: { const: "clarifai-audit-export" },
    query: { type: "object" },
    format: { enum: ["jsonl", "csv", "json", "ocsf"] },
    gzip: { type: "boolean" },
    perPage: { ...COUNT, minimum: 1 },
    window: object(["from", "to", "pinnedAt"], { from: TIMESTAMP, to: TIMESTAMP, pinnedAt: TIMESTAMP }),
    committed: object(["bytes", "sha256", "entries", "pages", "slice", "cursor", "sliceDone", "stats"], {
      bytes: COUNT,
      sha256: HEX64,
      entries: COUNT,
      pages: COUNT,
      slice: object(["from", "to", "last"], { from: TIMESTAMP, to: TIMESTAMP, last: { type: "boolean" } }),
      cursor: object(["page", "boundaryKeys"], {
        page: { ...COUNT, minimum: 1 },
        boundary: TIMESTAMP,
        boundaryKeys: { type: "array", items: { type: "string", maxLength: 1000 } },
      }),
      sliceDone: { type: "boolean" },
      complete: { type: "boolean" },
      stats: object(["retries", "shiftedPages", "repeated", "stale"], {
        retries: COUNT,
        shiftedPages: COUNT,
        repeated: COUNT,
        stale: COUNT,
        requests: COUNT,
      }),
    }),
    digest: object(["seq", "sha256"], { seq: { ...COUNT, minimum: 1 }, sha256: HEX64 }),
    updatedAt: TIMESTAMP,
  },
);

const SPEC: StateSpec<Manifest> = {
  schema: MANIFEST_SCHEMA,
  kind: { field: "kind", value: "clarifai-audit-export" },
  version: { field: "version", reads: MANIFEST_VERSION, what: "a clarifai-audit export manifest" },
};

function manifestError(error: unknown): unknown {
  if (!(error instanceof StateFileError)) return error;
  const field = error.field === undefined ? "" : `field ${error.field === "" ? "/" : error.field} `;
  return new ManifestError(error.source, `${field}${error.problem}`);
}

/**
 * Validates a manifest already parsed (`path` names it in messages).
 * @throws ManifestError naming the first field that is wrong.
 */
export async function validateManifest(path: string, value: unknown): Promise<Manifest> {
  try {
    return await validateState(value, SPEC, path);
  } catch (error) {
    throw manifestError(error);
  }
}

/** Reads the manifest, or undefined when there is none; throws {@link ManifestError} on a corrupt one. */
export async function readManifest(out: string): Promise<Manifest | undefined> {
  try {
    return await readValidatedState(manifestPath(out), SPEC);
  } catch (error) {
    throw manifestError(error);
  }
}

/** Removes the manifest (after a finished export). */
export async function removeManifest(out: string): Promise<void> {
  await unlink(manifestPath(out)).catch(() => undefined);
}
