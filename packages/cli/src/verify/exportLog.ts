/**
 * A signed export: the file PATH (gzip told by its magic bytes: the digests describe the text
 * inside) and its digests in PATH.digests/. The ranges the digests describe must tile the file from
 * byte 0, each with its SHA-256 and its entries; the file read once, start to end.
 */

import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { LEAF_PREFIX_BYTES, type LeafFormat } from "@clarifai-audit/client/internal/digest/leaves.js";
import type { LoadedDigest } from "./chain.js";
import { classifyLeaves, isPrefix, type LeafLists } from "./classify.js";
import { fail } from "./problem.js";
import { type ByteRange, type RangeResult, RangeWalker } from "./ranges.js";
import type { LeafTree } from "./tree.js";

/** A range of the file, with the digest (and its file entry) that describes it. */
interface DigestRange extends ByteRange {
  digest: number;
  sha256: string;
  entries: number;
  /** Index of its first leaf among its digest's leaves. */
  firstLeaf: number;
}

/** What the data check found. */
export interface ExportData {
  bytes: number;
  files: number;
}

const CHUNK = 1024 * 1024;

/** Thrown through the reader to stop at the first range that differs. */
const STOP = new Error("stop");

function rangesOf(digests: readonly LoadedDigest[]): DigestRange[] {
  const out: DigestRange[] = [];
  let end = 0;
  digests.forEach((d, digest) => {
    let firstLeaf = 0;
    for (const f of d.doc.digest.files) {
      const offset = f.offset ?? end;
      if (offset !== end)
        fail(
          "digest-invalid",
          d.shown,
          `${d.shown} describes ${f.path} from byte ${offset}; the commits before it end at byte ${end}`,
          { digest: d.name },
        );
      out.push({ offset, bytes: f.bytes, digest, sha256: f.sha256, entries: f.entries, firstLeaf });
      firstLeaf += f.entries;
      end += f.bytes;
    }
  });
  return out;
}

/**
 * Checks the export file `path` against `digests` (already checked as a chain), adding its leaves
 * to `tree`. A `.partial` file (an export still running or interrupted) may hold bytes after its
 * newest digest: those are not committed yet.
 * @throws NotVerified naming the file, the line and the digest.
 */
export async function checkExportData(
  path: string,
  digests: readonly LoadedDigest[],
  tree: LeafTree,
  signal?: AbortSignal,
): Promise<ExportData> {
  const ranges = rangesOf(digests);
  const newest = digests.at(-1) as LoadedDigest;
  try {
    const info = await stat(path);
    if (!info.isFile()) fail("file-missing", path, `${path} is not a regular file`, { digest: newest.name });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      fail(
        "file-missing",
        path,
        `${path} does not exist (its digests describe ${ranges.at(-1)?.offset ?? 0} bytes and more)`,
        {
          digest: digests[0]?.name as string,
        },
      );
    throw error;
  }
  let closed = 0;
  const closeThrough = (last: number) => {
    for (; closed <= last; closed++) tree.close(digests[closed] as LoadedDigest);
  };
  let mismatch: number | undefined;
  const onRange = (r: RangeResult) => {
    const range = ranges[r.index] as DigestRange;
    closeThrough(range.digest - 1);
    if (!r.complete || r.sha256 !== range.sha256) {
      mismatch = r.index;
      throw STOP;
    }
    const next = ranges[r.index + 1];
    if (next === undefined || next.digest !== range.digest) closeThrough(range.digest);
  };
  // Leaves go to the tree as they are found (a range's are checked by its hash at its end: if it
  // differs, the run stops there and the tree's checks so far are all that count).
  const onLeaves = (index: number, hashes: Buffer, count: number) => {
    closeThrough((ranges[index] as DigestRange).digest - 1);
    tree.add(hashes, count);
  };
  const gzip = await isGzip(path);
  let format: LeafFormat = "jsonl";
  let walker: RangeWalker | undefined;
  const feed = (chunk: Buffer): boolean => {
    if (signal?.aborted) throw signal.reason;
    if (walker === undefined) {
      format = formatOf(chunk);
      walker = new RangeWalker(format, ranges, onRange);
      walker.onLeaves = onLeaves;
    }
    return walker.push(chunk);
  };
  try {
    await (gzip ? readGzip : readPlain)(path, feed);
    if (walker === undefined) {
      walker = new RangeWalker(format, ranges, onRange);
      walker.onLeaves = onLeaves;
    }
    walker.end();
  } catch (error) {
    if (error !== STOP) throw error;
  }
  // A problem the tree found in a commit before the first range that differs comes first.
  await tree.settle();
  if (mismatch !== undefined) await locate(path, gzip, format, ranges, mismatch, digests);
  closeThrough(digests.length - 1);
  await tree.settle();
  const extra = walker?.extra;
  if (extra !== undefined && !path.endsWith(".partial"))
    fail(
      "file-extended",
      path,
      `${path} line ${extra.line}: bytes after the last signed commit (from byte ${extra.offset}, where ${newest.name} ends): entries were added after signing, or newer digests were removed`,
      { entry: extra.line, digest: newest.name },
    );
  return { bytes: ranges.reduce((n, r) => n + r.bytes, 0), files: 1 };
}

/** An export's lines are split as a JSON array's when it starts with `[`, else as JSON Lines. */
function formatOf(first: Buffer): LeafFormat {
  return first[0] === 0x5b ? "json" : "jsonl";
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function readPlain(path: string, feed: (chunk: Buffer) => boolean): Promise<void> {
  const fh = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) return;
      if (!feed(buffer.subarray(0, bytesRead))) return;
    }
  } finally {
    await fh.close();
  }
}

function isZlibError(error: unknown): boolean {
  return /^Z_/.test(String((error as NodeJS.ErrnoException | null)?.code ?? ""));
}

async function readGzip(path: string, feed: (chunk: Buffer) => boolean): Promise<void> {
  const source = createReadStream(path, { highWaterMark: CHUNK });
  const gunzip = createGunzip({ chunkSize: CHUNK });
  source.on("error", (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) if (!feed(chunk as Buffer)) break;
  } catch (error) {
    if (!isZlibError(error)) throw error;
    // A cut gzip stream ends the text there (the ranges past it are reported as truncated).
    if ((error as NodeJS.ErrnoException).code !== "Z_BUF_ERROR")
      fail(
        "file-replaced",
        path,
        `${path} is not the gzip file that was signed (${(error as Error).message})`,
      );
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/**
 * Names what differs from the first range that is not the signed bytes on: the file is read again,
 * lines counted up to that range, and every leaf from there to the end compared with the signed
 * leaves from there to the end of the chain (an insertion or a deletion shifts the bytes of every
 * range after it, so one range's bytes alone cannot tell).
 */
async function locate(
  path: string,
  gzip: boolean,
  format: LeafFormat,
  ranges: readonly DigestRange[],
  index: number,
  digests: readonly LoadedDigest[],
): Promise<never> {
  const range = ranges[index] as DigestRange;
  let tail: RangeResult | undefined;
  const walker = new RangeWalker(
    format,
    [
      { offset: 0, bytes: range.offset },
      { offset: range.offset, bytes: Number.MAX_SAFE_INTEGER },
    ],
    (r) => {
      if (r.index === 1) tail = r;
    },
    1,
  );
  await (gzip ? readGzip : readPlain)(path, (chunk) => walker.push(chunk));
  walker.end();
  const found = tail as RangeResult;
  const d = digests[range.digest] as LoadedDigest;
  const expected = Buffer.concat([
    d.prefixes.subarray(range.firstLeaf * LEAF_PREFIX_BYTES),
    ...digests.slice(range.digest + 1).map((l) => l.prefixes),
  ]);
  const lists: LeafLists = {
    found: found.leaves.hashes(),
    foundCount: found.leaves.count,
    expected,
    expectedCount: expected.length / LEAF_PREFIX_BYTES,
  };
  const lineOf = (i: number) => (i < found.leaves.count ? (found.lines[i] as number) : found.linesAfter + 1);
  /** The digest that signed the tail's entry `i`. */
  const digestOf = (i: number): string => {
    let left = i + range.firstLeaf;
    for (const l of digests.slice(range.digest)) {
      if (left < l.doc.digest.entries) return l.name;
      left -= l.doc.digest.entries;
    }
    return (digests.at(-1) as LoadedDigest).name;
  };
  const where = (i: number) => `digest ${digestOf(i)}`;
  const count = found.leaves.count;
  const whole = isPrefix(lists);
  if (lists.foundCount < lists.expectedCount && (whole || (found.cut && isPrefix(lists, count - 1)))) {
    const first = whole ? count : count - 1;
    const line = lineOf(first);
    fail(
      "file-truncated",
      path,
      `${path} line ${line}: the file ends at byte ${range.offset + found.bytes}, before the bytes ${digestOf(first)} signed: it was truncated (entries from line ${line} on are missing)`,
      { entry: line, digest: digestOf(first) },
    );
  }
  const diff = classifyLeaves(lists);
  if (diff === undefined)
    fail(
      "file-replaced",
      path,
      `${path}: the bytes from ${range.offset} (${d.name}) are not the signed bytes, though they hold the signed entries (lines or spacing between entries changed)`,
      { entry: found.linesBefore + 1, digest: d.name },
    );
  const line = lineOf(diff.found);
  const what = {
    "entry-changed": "this entry is not the one signed there (it was changed)",
    "entry-inserted": "this entry was not signed (it was inserted)",
    "entry-deleted": "the entry signed here is missing (it was deleted)",
    "entry-reordered": "this entry was signed at another place (entries were reordered)",
  }[diff.kind];
  fail(diff.kind, path, `${path} line ${line}: ${what} (${where(diff.expected)})`, {
    entry: line,
    digest: digestOf(diff.expected),
  });
}
