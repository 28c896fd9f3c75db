/**
 * A signed lake: the folder PATH, its digests in PATH/_clarifai_digests/, its Parquet files under
 * audit_log/date=…/. Every file a digest lists must be there with its SHA-256 (else its rows are
 * read to name the entry that differs), every Parquet file of the table must be listed by a digest,
 * and the state file's head (`_clarifai_sync.json`) may not be newer than the newest digest.
 */
import { createHash } from "node:crypto";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { digestName } from "@clarifai-audit/client/internal/digest/document.js";
import type { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { LEAF_PREFIX_BYTES } from "@clarifai-audit/client/internal/digest/leaves.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import { digestPath, MAX_LAKE_STATE_BYTES, STATE_FILE, TABLE_DIR, tempPath } from "../sync/lake/manifest.js";
import type { LoadedDigest } from "./chain.js";
import { classifyLeaves } from "./classify.js";
import { LakeRows } from "./lakeRows.js";
import { fail } from "./problem.js";
import type { ChainTree } from "./tree.js";

const CHUNK = 1024 * 1024;

/** SHA-256 (hex) and size of the file at `path`. */
async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  const fh = await open(path, "r");
  let bytes = 0;
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest("hex"), bytes };
}

/**
 * The state file's head against the newest digest. Returns the paths the state lists as the lake's
 * files when its head is the newest digest (the state query and sync read the lake by), else
 * undefined (no state file, one without a head or a list of files, or one naming an older head).
 * @throws NotVerified digest-missing (the state names a newer digest), chain-broken (another hash).
 */
async function checkStateHead(dir: string, newest: LoadedDigest): Promise<Set<string> | undefined> {
  let state: unknown;
  try {
    const bytes = await readRegularFile(
      join(dir, STATE_FILE),
      MAX_LAKE_STATE_BYTES,
      (problem) => new Error(problem),
      "a lake state file",
    );
    if (bytes === undefined) return undefined;
    state = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined; // No state file (a copy of the data and digests alone): nothing to compare with.
  }
  const head = (state as { digest?: { seq?: unknown; sha256?: unknown } } | null)?.digest;
  if (typeof head?.seq !== "number") return undefined;
  if (head.seq > newest.seq) {
    // A commit interrupted after its commit point leaves its digest under the hidden name until the
    // next sync (or query) publishes it.
    const hidden = await lstat(join(dir, tempPath(digestPath(digestName(head.seq))))).then(
      () => true,
      () => false,
    );
    fail(
      "digest-missing",
      STATE_FILE,
      `${STATE_FILE}: the state file's head is digest ${digestName(head.seq)}; digests after ${newest.name} are missing${hidden ? ` (the head is still under its hidden name: a commit was interrupted before publishing it; the next sync publishes it)` : ""}`,
      { digest: digestName(newest.seq + 1) },
    );
  }
  if (head.seq === newest.seq && head.sha256 !== newest.hash)
    fail(
      "chain-broken",
      newest.shown,
      `${newest.shown}: its hash is ${newest.hash}; the state file's head ${newest.name} has ${String(head.sha256)}`,
      { digest: newest.name },
    );
  const files = (state as { files?: unknown }).files;
  // A state without its list of files is refused by query and sync: nothing they read silently.
  if (head.seq !== newest.seq || !Array.isArray(files)) return undefined;
  return new Set(
    files.map((f) => (f as { path?: unknown } | null)?.path).filter((p) => typeof p === "string"),
  );
}

/** Every `.parquet` file under the table's folder, relative to `dir`. */
async function parquetFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, TABLE_DIR), { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .map((n) => `${TABLE_DIR}/${n.split("\\").join("/")}`)
    .filter((n) => n.endsWith(".parquet"))
    .sort();
}

/**
 * Checks the lake `dir` against `digests` (already checked as a chain), adding its leaves to `tree`.
 * @throws NotVerified naming the file (relative to `dir`), the row and the digest.
 */
export async function checkLakeData(
  dir: string,
  digests: readonly LoadedDigest[],
  tree: ChainTree,
  signal?: AbortSignal,
): Promise<{ bytes: number; files: number }> {
  const stateFiles = await checkStateHead(dir, digests.at(-1) as LoadedDigest);
  const rows = await LakeRows.open();
  const listed = new Set<string>();
  let bytes = 0;
  try {
    for (const d of digests) {
      let firstLeaf = 0;
      for (const f of d.doc.digest.files) {
        const at = (entry?: number) => ({ digest: d.name, ...(entry !== undefined ? { entry } : {}) });
        const path = join(dir, f.path);
        listed.add(f.path);
        let info: Awaited<ReturnType<typeof lstat>>;
        try {
          info = await lstat(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          fail(
            "file-missing",
            f.path,
            `${f.path} does not exist (${d.name} lists it: ${f.entries} entries)`,
            at(),
          );
        }
        if (!info.isFile())
          fail("file-replaced", f.path, `${f.path} is not a regular file (${d.name} lists a file)`, at());
        const found = await hashFile(path);
        const leaves = await rows.leaves(path, signal);
        if (found.sha256 !== f.sha256) fileProblem(f, found, leaves, d, firstLeaf);
        if ("error" in leaves)
          fail("file-replaced", f.path, `${f.path}: DuckDB cannot read it (${leaves.error})`, at());
        tree.add(leaves.hashes(), leaves.count);
        bytes += found.bytes;
        firstLeaf += f.entries;
      }
      tree.close(d);
    }
  } finally {
    rows.close();
  }
  // A signed lake is never compacted: every file a digest lists stays in the state file, which is
  // what query and sync read the lake by. One left out is signed data they no longer see.
  if (stateFiles !== undefined)
    for (const d of digests)
      for (const f of d.doc.digest.files)
        if (!stateFiles.has(f.path))
          fail(
            "file-missing",
            f.path,
            `${f.path} is not in the state file ${STATE_FILE} (${d.name} lists it: ${f.entries} entries): query and sync no longer see it`,
            { digest: d.name },
          );
  for (const file of await parquetFiles(dir))
    if (!listed.has(file))
      fail(
        "file-unlisted",
        file,
        `${file} is listed by no digest: a file was added to the lake after signing (or its digest removed)`,
      );
  return { bytes, files: listed.size };
}

/** Names what differs in a listed file whose bytes are not the signed ones. */
function fileProblem(
  f: { path: string; bytes: number; entries: number },
  found: { bytes: number },
  leaves: LeafHashes | { error: string },
  d: LoadedDigest,
  firstLeaf: number,
): never {
  const at = (entry?: number) => ({ digest: d.name, ...(entry !== undefined ? { entry } : {}) });
  if ("error" in leaves) {
    if (found.bytes < f.bytes)
      fail(
        "file-truncated",
        f.path,
        `${f.path}: ${found.bytes} bytes of the ${f.bytes} ${d.name} signed: it was truncated (DuckDB cannot read it)`,
        at(),
      );
    if (found.bytes > f.bytes)
      fail(
        "file-extended",
        f.path,
        `${f.path}: ${found.bytes} bytes, ${d.name} signed ${f.bytes}: bytes were added (DuckDB cannot read it)`,
        at(),
      );
    fail(
      "file-replaced",
      f.path,
      `${f.path} is not the file ${d.name} signed (DuckDB cannot read it: ${leaves.error})`,
      at(),
    );
  }
  const diff = classifyLeaves({
    found: leaves.hashes(),
    foundCount: leaves.count,
    expected: d.prefixes.subarray(firstLeaf * LEAF_PREFIX_BYTES, (firstLeaf + f.entries) * LEAF_PREFIX_BYTES),
    expectedCount: f.entries,
  });
  if (diff === undefined)
    fail(
      "file-replaced",
      f.path,
      `${f.path} is not the file ${d.name} signed, though its rows hold the signed entries (the file was rewritten)`,
      at(),
    );
  const row = diff.found + 1;
  const what = {
    "entry-changed": "this entry is not the one signed there (it was changed)",
    "entry-inserted": "this entry was not signed (it was inserted)",
    "entry-deleted": `the entry signed here (row ${diff.expected + 1} of ${f.entries}) is missing (it was deleted)`,
    "entry-reordered": "this entry was signed at another row (rows were reordered)",
  }[diff.kind];
  fail(diff.kind, f.path, `${f.path} row ${row}: ${what} (${d.name})`, at(row));
}
