/**
 * The lake's state file, `DIR/_clarifai_sync.json`: the sync state, the list of committed Parquet
 * files (what the lake holds: `query` reads this list, never a glob), the files whose rename or
 * deletion a crash may have cut short, and the entry keys of the reconcile window. It is replaced
 * atomically (write a temporary file, fsync, rename, fsync the directory), so a reader sees the
 * previous commit or the next one.
 */
import { lstat, open } from "node:fs/promises";
import { join, resolve } from "node:path";
import { digestName } from "@clarifai-audit/client/internal/digest/document.js";
import { pathExists, writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import { COUNT, NS } from "@clarifai-audit/client/internal/state/schemaParts.js";
import {
  readValidatedState,
  StateFileError,
  type StateSpec,
  validateState,
} from "@clarifai-audit/client/internal/state/stateReader.js";
import { encodedKeysProblem } from "../keyTable.js";
import { SYNC_STATE_SCHEMA, syncStateProblem } from "../stateSchema.js";
import { type SyncState, SyncUsageError } from "../store.js";
import { LAKE_SCHEMA_VERSION } from "./schema.js";

/** Name of the state file inside DIR. */
export const STATE_FILE = "_clarifai_sync.json";
/** The folder of the table inside DIR (the Hive partitions `date=YYYY-MM-DD` are below it). */
export const TABLE_DIR = "audit_log";
/** The folder of a signed lake's digests inside DIR (`000000000001.json`, …: digest/document.ts). */
export const DIGESTS_DIR = "_clarifai_digests";

/** A digest's path inside the lake, `_clarifai_digests/000000000001.json`. */
export function digestPath(name: string): string {
  return `${DIGESTS_DIR}/${name}`;
}

/** Whether `name` (inside {@link DIGESTS_DIR}) is a digest's hidden name, `.000000000001.json.tmp`. */
export function isHiddenDigestName(name: string): boolean {
  return /^\.\d{12}\.json\.tmp$/.test(name);
}

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
  /**
   * A signed lake's head: the newest committed digest (its `seq` and hash, digest/document.ts's
   * digestHash). Absent in an unsigned lake; once present, every commit adds one digest.
   */
  digest?: { seq: number; sha256: string };
  /**
   * The head's digest file (`_clarifai_digests/….json`) when it may still be under its hidden name
   * ({@link tempPath}): the commit that wrote it has not published it yet.
   */
  pendingDigest?: string;
}

/** The hidden name a file is written under before it is renamed into place (readers glob `*.parquet`). */
export function tempPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp`;
}

/** A listed file's path: inside the table's folder, in a partition, named as this store names files. */
const LAKE_PATH = {
  type: "string",
  pattern: `^${TABLE_DIR}/date=[0-9]{4}-[0-9]{2}-[0-9]{2}/part-[0-9A-Za-z-]{1,80}\\.parquet$`,
  description: `a path ${TABLE_DIR}/date=YYYY-MM-DD/part-….parquet inside the lake`,
} as const;

/** A digest's path, as the state file names the pending one. */
const DIGEST_PATH = {
  type: "string",
  pattern: `^${DIGESTS_DIR}/[0-9]{12}\\.json$`,
  description: `a path ${DIGESTS_DIR}/NNNNNNNNNNNN.json inside the lake`,
} as const;

/** The JSON Schema of {@link LakeManifest}. */
export const LAKE_STATE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "schemaVersion", "seq", "state", "files", "pending", "obsolete", "keys"],
  properties: {
    kind: { const: "clarifai-audit-lake" },
    schemaVersion: { type: "integer", minimum: 1, maximum: LAKE_SCHEMA_VERSION },
    seq: COUNT,
    state: SYNC_STATE_SCHEMA,
    files: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["path", "rows", "bytes", "minNs", "maxNs"],
        properties: { path: LAKE_PATH, rows: COUNT, bytes: COUNT, minNs: NS, maxNs: NS },
      },
    },
    pending: { type: "array", items: LAKE_PATH },
    obsolete: { type: "array", items: LAKE_PATH },
    // Checked in lakeStateProblem: a pattern over megabytes of base64 would strain the regex engine.
    keys: { type: "string" },
    digest: {
      type: "object",
      additionalProperties: false,
      required: ["seq", "sha256"],
      properties: {
        seq: { ...COUNT, minimum: 1 },
        sha256: { type: "string", pattern: "^[0-9a-f]{64}$", description: "a SHA-256 in hex" },
      },
    },
    pendingDigest: DIGEST_PATH,
  },
} as const;

/** What the schema cannot say about a lake state: [pointer, problem] of the first fault. */
function lakeStateProblem(m: LakeManifest): [string, string] | undefined {
  const listed = new Map<string, number>();
  for (const [i, f] of m.files.entries()) {
    const first = listed.get(f.path);
    if (first !== undefined)
      return [`/files/${i}/path`, `lists ${f.path} a second time (as /files/${first})`];
    listed.set(f.path, i);
    if (BigInt(f.minNs) > BigInt(f.maxNs)) return [`/files/${i}/minNs`, `is after its maxNs ${f.maxNs}`];
  }
  const seen = new Set<string>();
  for (const [i, path] of m.pending.entries()) {
    if (seen.has(path)) return [`/pending/${i}`, `lists ${path} a second time`];
    seen.add(path);
    if (!listed.has(path)) return [`/pending/${i}`, `is ${path}, which /files does not list`];
  }
  seen.clear();
  for (const [i, path] of m.obsolete.entries()) {
    if (seen.has(path)) return [`/obsolete/${i}`, `lists ${path} a second time`];
    seen.add(path);
    // A live file is never deleted because the state file says so.
    if (listed.has(path)) return [`/obsolete/${i}`, `is ${path}, a live file (/files/${listed.get(path)})`];
  }
  if (m.pendingDigest !== undefined && m.pendingDigest !== digestPath(digestName(m.digest?.seq ?? 0)))
    return [
      "/pendingDigest",
      m.digest === undefined
        ? "is set without /digest"
        : `is ${m.pendingDigest}, not the head's ${digestPath(digestName(m.digest.seq))}`,
    ];
  const keys = encodedKeysProblem(m.keys);
  if (keys !== undefined) return ["/keys", keys];
  return syncStateProblem(m.state, "/state");
}

/**
 * Checks that each path the state file names stays inside `root` on disk: no folder on the way and
 * no file is a symbolic link (the patterns already keep out absolute paths and `..`). Nothing is
 * opened or deleted before this passes.
 */
async function lakePathsProblem(root: string, m: LakeManifest): Promise<[string, string] | undefined> {
  const kinds = new Map<string, string | undefined>();
  const problem = async (rel: string, folder: boolean): Promise<string | undefined> => {
    const known = kinds.get(rel);
    if (known !== undefined || kinds.has(rel)) return known;
    let why: string | undefined;
    try {
      const info = await lstat(join(root, rel));
      if (info.isSymbolicLink()) why = `${rel} is a symbolic link; a lake holds none`;
      else if (folder ? !info.isDirectory() : !info.isFile())
        why = `${rel} is not a ${folder ? "folder" : "regular file"}`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") why = `${rel} cannot be checked (${code ?? (error as Error).message})`;
    }
    kinds.set(rel, why);
    return why;
  };
  const check = async (rel: string, pointer: string): Promise<[string, string] | undefined> => {
    const parent = rel.slice(0, rel.lastIndexOf("/"));
    const steps: (readonly [string, boolean])[] = rel.startsWith(`${DIGESTS_DIR}/`)
      ? [
          [DIGESTS_DIR, true],
          [rel, false],
        ]
      : [
          [TABLE_DIR, true],
          [parent, true],
          [rel, false],
        ];
    for (const [p, folder] of steps) {
      const why = await problem(p, folder);
      if (why !== undefined) return [pointer, `names ${rel}, but ${why}`];
    }
    return undefined;
  };
  for (const [i, f] of m.files.entries()) {
    const bad = await check(f.path, `/files/${i}/path`);
    if (bad !== undefined) return bad;
  }
  for (const [i, p] of m.pending.entries()) {
    const bad = await check(tempPath(p), `/pending/${i}`);
    if (bad !== undefined) return bad;
  }
  for (const [i, p] of m.obsolete.entries()) {
    const bad = await check(p, `/obsolete/${i}`);
    if (bad !== undefined) return bad;
  }
  if (m.digest !== undefined) {
    const head = digestPath(digestName(m.digest.seq));
    for (const p of m.pendingDigest !== undefined ? [head, tempPath(head)] : [head]) {
      const bad = await check(p, m.pendingDigest !== undefined ? "/pendingDigest" : "/digest");
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

/** Largest lake state file read: the keys of a busy reconcile window take 28 bytes an entry. */
export const MAX_LAKE_STATE_BYTES = 256 * 1024 * 1024;

/**
 * Reads and checks the state file of `dir` (schema, listed paths inside the lake, no file listed
 * twice, keys well-formed); undefined when there is none. Throws {@link SyncUsageError} (one line
 * naming the file and the field) for anything else, before anything is opened or deleted.
 */
export async function readManifest(dir: string): Promise<LakeManifest | undefined> {
  const root = resolve(dir);
  const path = join(dir, STATE_FILE);
  try {
    return await readValidatedState<LakeManifest>(
      path,
      lakeStateSpec(async (m) => lakeStateProblem(m) ?? (await lakePathsProblem(root, m))),
    );
  } catch (error) {
    throw damaged(error);
  }
}

/** How a lake state is checked, with `check` for what the schema cannot say. */
function lakeStateSpec(check: StateSpec<LakeManifest>["check"]): StateSpec<LakeManifest> {
  return {
    schema: LAKE_STATE_SCHEMA,
    kind: { field: "kind", value: "clarifai-audit-lake" },
    version: { field: "schemaVersion", reads: LAKE_SCHEMA_VERSION, what: "a clarifai-audit lake state file" },
    ...(check !== undefined ? { check } : {}),
    maxBytes: MAX_LAKE_STATE_BYTES,
  };
}

function damaged(error: unknown): unknown {
  if (error instanceof StateFileError)
    return new SyncUsageError(`${error.message}; nothing was changed (a damaged lake state file)`);
  return error;
}

/**
 * Parses and checks a lake state read from elsewhere than a folder (an S3 object named `source`):
 * the checks of {@link readManifest} but the paths' (object keys are names, not a file system).
 */
export async function parseManifest(bytes: Uint8Array, source: string): Promise<LakeManifest> {
  const fail = (problem: string) => damaged(new StateFileError(source, undefined, problem));
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw fail("is not UTF-8 JSON: it is not a state file of this tool");
  }
  try {
    return await validateState(parsed, lakeStateSpec(lakeStateProblem), source);
  } catch (error) {
    throw damaged(error);
  }
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
