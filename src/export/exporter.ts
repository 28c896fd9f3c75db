/**
 * The bulk exporter: pins a window, walks it oldest first through the ordered concurrent pipeline,
 * streams the pages into `FILE.partial`, commits durable progress to `FILE.manifest.json`, and
 * finally renames (or gzips) the result into place. See the README's "export" section for the exact
 * consistency and resume guarantees.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { access, type FileHandle, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import {
  auditLogEntryBytesToJson,
  decodeAuditLogEntry,
  JsonlPageEncoder,
  prepareJsonTranscoder,
  type RawEntry,
} from "../codec/index.js";
import { lineKey } from "../domain/entryKey.js";
import { compareTs, formatTs, nowTs, nsToTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { ExportInterruptedError, ExportUsageError } from "./errors.js";
import { type DataFormat, formatEntries, formatFooter, formatHeader } from "./formats.js";
import {
  fsyncDir,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestCommit,
  manifestPath,
  partialPath,
  readManifest,
  removeManifest,
  writeManifest,
} from "./manifest.js";
import { orderedPages, type PipelineStats, planSlices } from "./orderedPages.js";
import { type FetchPage, type Slice, type SliceCursor, sliceQueryBounds } from "./sliceWalk.js";

export { ExportInterruptedError, ExportUsageError };

/** Everything the exporter needs; the CLI fills it from flags. */
export interface ExportRequest {
  out: string;
  format: DataFormat;
  gzip: boolean;
  /** Canonical description of the request, stored in the manifest; resume requires an equal one. */
  query: Record<string, unknown>;
  from?: Ts;
  to?: Ts;
  /** The window ends no later than now − settleMs (entries still being written are left out). */
  settleMs: number;
  concurrency: number;
  perPage: number;
  /** Minimum time between commits (0 = after every page). */
  commitIntervalMs: number;
  resume: boolean;
  /** Overwrite an existing output file or discard an interrupted export. */
  force: boolean;
  /**
   * Fetches pages with their entries left serialized: the export walks entry bytes, not decoded
   * objects (JSONL is transcoded straight from them; csv and json decode each page as it is
   * written), so pages waiting for the writer stay small.
   */
  fetchPage: FetchPage<RawEntry>;
  signal?: AbortSignal;
  onWindow?: (window: { from: Ts; to: Ts; resumed: boolean }) => void;
  onProgress?: (progress: ExportProgress) => void;
  now?: () => number;
}

/** Running counters, reported after each page. */
export interface ExportProgress {
  entries: number;
  pages: number;
  retries: number;
  shiftedPages: number;
  bytes: number;
}

/** The outcome of an export (also carried by {@link ExportInterruptedError}). */
export interface ExportSummary extends ExportProgress {
  /** Entries dropped because a page repeated them after the log grew. */
  repeated: number;
  /** Entries older than the walk's position (repeats or late arrivals behind it), dropped. */
  stale: number;
  slices: number;
  splits: number;
  /**
   * Fewest pages allowed in flight during this run: below the requested concurrency when pages
   * needed retries (throttling or server errors) and the exporter backed off.
   */
  lowestConcurrency: number;
  /** SHA-256 (hex) of the uncompressed output. */
  sha256: string;
  durationMs: number;
  resumed: boolean;
  window?: { from: string; to: string };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function mustParse(text: string, what: string): Ts {
  const ts = parseTs(text);
  if (ts === undefined) throw new ExportUsageError(`corrupt manifest: ${what} is not a timestamp: ${text}`);
  return ts;
}

async function hashPrefix(path: string, bytes: number): Promise<Hash> {
  const hash = createHash("sha256");
  if (bytes === 0) return hash;
  const stream = createReadStream(path, { start: 0, end: bytes - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash;
}

/** Appends to the partial file, hashing as it goes; `sync` makes everything written so far durable. */
class PartialWriter {
  constructor(
    private readonly fh: FileHandle,
    public bytes: number,
    private readonly hash: Hash,
  ) {}
  async write(text: string | Buffer): Promise<void> {
    if (text.length === 0) return;
    const buf = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    let off = 0;
    // Awaiting each write is the backpressure: the next page is taken only once this one is on disk.
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, this.bytes + off);
      off += bytesWritten;
    }
    this.hash.update(buf);
    this.bytes += buf.length;
  }
  digest(): string {
    return this.hash.copy().digest("hex");
  }
  async sync(): Promise<void> {
    await this.fh.sync();
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

function sliceToManifest(slice: Slice): Manifest["committed"]["slice"] {
  return { from: formatTs(slice.from), to: formatTs(slice.to), last: slice.last };
}

function cursorToManifest(cursor: SliceCursor): ManifestCommit["cursor"] {
  return {
    page: cursor.page,
    ...(cursor.boundary ? { boundary: formatTs(cursor.boundary) } : {}),
    boundaryKeys: cursor.boundaryKeys,
  };
}

/** Plans slices over `[from, to]`, spacing the inner boundaries over where the data actually is. */
function planWindow(from: Ts, to: Ts, first: Ts, last: Ts, count: number): Slice[] {
  const lo = compareTs(first, from) > 0 ? first : from;
  const hi = compareTs(last, to) < 0 ? last : to;
  if (count <= 1 || compareTs(lo, hi) >= 0) return [{ from, to, last: true }];
  const slices = planSlices(lo, nsToTs(tsToNs(hi) + 1n), count);
  slices[0] = { ...(slices[0] as Slice), from };
  const end = slices[slices.length - 1] as Slice;
  slices[slices.length - 1] = { ...end, to, last: true };
  return slices;
}

/**
 * Runs (or resumes) an export. Resolves with the summary once `out` is complete; rejects with
 * {@link ExportInterruptedError} when stopped by the signal, {@link ExportUsageError} for requests
 * refused before any network call, or the fetch error that stopped it (after committing progress).
 */
export async function runExport(request: ExportRequest): Promise<ExportSummary> {
  const started = performance.now();
  const now = request.now ?? Date.now;
  const { out, format } = request;
  const partial = partialPath(out);
  const previous = await readManifest(out).catch((error: unknown) => {
    throw new ExportUsageError(`cannot read ${manifestPath(out)}: ${(error as Error).message}`);
  });
  const queryId = { ...request.query, format, gzip: request.gzip, perPage: request.perPage };

  let window: { from: Ts; to: Ts };
  let slices: Slice[];
  let firstCursor: SliceCursor = { page: 1, boundaryKeys: [] };
  let committed: ManifestCommit | undefined;
  let pinnedAt: string;
  /** Retries of the two window probes, reported with those of the pages. */
  let probeRetries = 0;

  if (request.resume) {
    if (previous === undefined)
      throw new ExportUsageError(`nothing to resume: ${manifestPath(out)} does not exist`);
    if (canonical(previous.query) !== canonical(queryId)) {
      throw new ExportUsageError(
        `refusing to resume: ${manifestPath(out)} was written for a different query (${canonical(previous.query)})`,
      );
    }
    committed = previous.committed;
    if (!(await exists(partial))) {
      if (committed.complete && (await exists(out))) {
        // Crashed between the final rename and removing the manifest: the export is done.
        await removeManifest(out);
        return {
          entries: committed.entries,
          pages: committed.pages,
          bytes: committed.bytes,
          sha256: committed.sha256,
          ...committed.stats,
          slices: 0,
          splits: 0,
          lowestConcurrency: request.concurrency,
          durationMs: performance.now() - started,
          resumed: true,
          window: { from: previous.window.from, to: previous.window.to },
        };
      }
      throw new ExportUsageError(`cannot resume: ${partial} is missing`);
    }
    pinnedAt = previous.window.pinnedAt;
    window = {
      from: mustParse(previous.window.from, "window.from"),
      to: mustParse(previous.window.to, "window.to"),
    };
    const slice: Slice = {
      from: mustParse(committed.slice.from, "slice.from"),
      to: mustParse(committed.slice.to, "slice.to"),
      last: committed.slice.last,
    };
    slices = [];
    if (committed.complete) {
      // Only the finishing step was left; nothing to fetch.
    } else if (!committed.sliceDone) {
      slices.push(slice);
      firstCursor = {
        page: committed.cursor.page,
        ...(committed.cursor.boundary
          ? { boundary: mustParse(committed.cursor.boundary, "cursor.boundary") }
          : {}),
        boundaryKeys: committed.cursor.boundaryKeys,
      };
    }
    if (!slice.last && !committed.complete)
      slices.push(...planSlices(slice.to, window.to, 1).map((s) => ({ ...s, last: true })));
    request.onWindow?.({ ...window, resumed: true });
  } else {
    if (previous !== undefined && !request.force) {
      throw new ExportUsageError(
        `an interrupted export of ${out} exists (${manifestPath(out)}); pass --resume to continue it or --force to start over`,
      );
    }
    if ((await exists(out)) && !request.force)
      throw new ExportUsageError(`${out} already exists; pass --force to overwrite it`);
    const nowNs = tsToNs(nowTs(now()));
    const settled = nsToTs(nowNs - BigInt(Math.round(request.settleMs)) * 1_000_000n);
    const to = request.to !== undefined && compareTs(request.to, settled) < 0 ? request.to : settled;
    pinnedAt = formatTs(nsToTs(nowNs));
    const probeFrom = request.from ?? { seconds: 0, nanos: 0 };
    if (compareTs(probeFrom, to) > 0) {
      throw new ExportUsageError(
        `empty window: from ${formatTs(probeFrom)} is after to ${formatTs(to)} (to = min(--to, now − settle ${request.settleMs} ms))`,
      );
    }
    const bounds = sliceQueryBounds({ from: probeFrom, to, last: true });
    const probe = async (ascending: boolean) => {
      const page = await request.fetchPage({
        ...bounds,
        page: 1,
        perPage: 1,
        ascending,
        signal: request.signal,
      });
      probeRetries += Math.max(0, page.attempts - 1);
      return page.entries[0]?.timestamp;
    };
    // Both ends at once: on a remote service each probe is a full round trip before any page moves.
    const probes = Promise.all([probe(true), probe(false)]);
    // The JSONL transcoder compiles while the probes are on the network, not on the first page.
    if (format === "jsonl") prepareJsonTranscoder();
    const [first, last] = await probes;
    window = { from: request.from ?? first ?? to, to };
    slices =
      first === undefined || last === undefined
        ? [{ ...window, last: true }]
        : planWindow(window.from, to, first, last, request.concurrency);
    request.onWindow?.({ ...window, resumed: false });
  }

  const manifestBase = {
    version: MANIFEST_VERSION,
    kind: "clarifai-audit-export" as const,
    query: queryId,
    format,
    gzip: request.gzip,
    perPage: request.perPage,
    window: { from: formatTs(window.from), to: formatTs(window.to), pinnedAt },
  };

  let fh: FileHandle;
  let writer: PartialWriter;
  const stats = committed?.stats ?? { retries: probeRetries, shiftedPages: 0, repeated: 0, stale: 0 };
  let entries = committed?.entries ?? 0;
  let pages = committed?.pages ?? 0;
  if (committed !== undefined) {
    fh = await open(partial, "r+");
    const size = (await fh.stat()).size;
    if (size < committed.bytes) {
      await fh.close();
      throw new ExportUsageError(
        `cannot resume: ${partial} has ${size} bytes, the manifest committed ${committed.bytes}`,
      );
    }
    await fh.truncate(committed.bytes);
    const hash = await hashPrefix(partial, committed.bytes);
    writer = new PartialWriter(fh, committed.bytes, hash);
    if (writer.digest() !== committed.sha256) {
      await fh.close();
      throw new ExportUsageError(
        `cannot resume: the committed part of ${partial} does not match its SHA-256 in the manifest`,
      );
    }
  } else {
    fh = await open(partial, "w");
    writer = new PartialWriter(fh, 0, createHash("sha256"));
    await writer.write(formatHeader(format));
  }

  let complete = committed?.complete ?? false;
  let position = {
    slice: slices[0]
      ? sliceToManifest(slices[0])
      : (committed?.slice ?? sliceToManifest({ ...window, last: true })),
    cursor: cursorToManifest(firstCursor),
    sliceDone: slices.length === 0,
  };
  const commit = async () => {
    await writer.sync();
    await writeManifest(out, {
      ...manifestBase,
      committed: {
        bytes: writer.bytes,
        sha256: writer.digest(),
        entries,
        pages,
        ...position,
        ...(complete ? { complete } : {}),
        stats: { ...stats },
      },
      updatedAt: new Date(now()).toISOString(),
    });
  };
  const summary = (): ExportSummary => ({
    entries,
    pages,
    retries: stats.retries,
    shiftedPages: stats.shiftedPages,
    repeated: stats.repeated,
    stale: stats.stale,
    bytes: writer.bytes,
    slices: pipelineStats.slices,
    splits: pipelineStats.splits,
    lowestConcurrency: pipelineStats.lowestConcurrency ?? request.concurrency,
    sha256: writer.digest(),
    durationMs: performance.now() - started,
    resumed: committed !== undefined,
    window: { from: formatTs(window.from), to: formatTs(window.to) },
  });

  const pipelineStats: PipelineStats = { slices: 0, splits: 0 };
  if (committed === undefined) await commit();
  let lastCommit = now();
  let interrupted = false;
  try {
    // Safe to reuse: each page is written (awaited) before the next one is encoded.
    const jsonl = new JsonlPageEncoder();
    const stream = orderedPages(
      slices,
      firstCursor,
      request.fetchPage,
      {
        concurrency: request.concurrency,
        perPage: request.perPage,
        signal: request.signal,
        // The boundary keys are those of the entries' JSON lines, whatever the output format.
        keyOf: (e) => lineKey(auditLogEntryBytesToJson(e.bytes)),
      },
      pipelineStats,
    );
    for await (const page of stream) {
      await writer.write(
        page.entries.length === 0
          ? ""
          : format === "jsonl"
            ? jsonl.encode(page.entries)
            : formatEntries(
                format,
                page.entries.map((e) => decodeAuditLogEntry(e.source, e.start, e.end)),
                entries,
              ),
      );
      entries += page.entries.length;
      pages++;
      stats.retries += page.retries;
      stats.repeated += page.repeated;
      stats.stale += page.stale;
      if (page.repeated + page.stale > 0) stats.shiftedPages++;
      position = {
        slice: sliceToManifest(page.slice),
        cursor: cursorToManifest(page.cursor),
        sliceDone: page.done,
      };
      request.onProgress?.({
        entries,
        pages,
        retries: stats.retries,
        shiftedPages: stats.shiftedPages,
        bytes: writer.bytes,
      });
      if (now() - lastCommit >= request.commitIntervalMs) {
        await commit();
        lastCommit = now();
      }
      if (request.signal?.aborted) break;
    }
    if (request.signal?.aborted) interrupted = true;
  } catch (error) {
    if (!request.signal?.aborted) {
      await commit().catch(() => undefined);
      await writer.close().catch(() => undefined);
      throw error;
    }
    interrupted = true;
  }
  if (interrupted) {
    await commit();
    await writer.close();
    throw new ExportInterruptedError(summary());
  }

  if (!complete) {
    await writer.write(formatFooter(format, entries));
    complete = true;
    await commit();
  }
  await writer.close();
  if (request.gzip) {
    const tmp = `${out}.gz-partial`;
    await pipeline(createReadStream(partial), createGzip(), createWriteStream(tmp));
    const gz = await open(tmp, "r+");
    await gz.sync();
    await gz.close();
    await rename(tmp, out);
    await unlink(partial);
  } else {
    await rename(partial, out);
  }
  await fsyncDir(dirname(out));
  await removeManifest(out);
  return summary();
}
