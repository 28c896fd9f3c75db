/**
 * The export engine (public: `clarifai-audit/export`): pins a window, walks it oldest first through
 * the ordered concurrent pipeline (orderedPages.ts, sliceWalk.ts), dedupes at page boundaries, and
 * hands each page to a sink as one batch with the cursor that follows it. Where the data and the
 * cursor go is the sink's business (sink.ts); resuming is `open` returning the last durable cursor.
 */
import type { AuditLogClient } from "../client/client.js";
import { type AuditLogSearchQuery, requestFromValidated, validateQuery } from "../client/query.js";
import { prepareJsonTranscoder } from "../codec/index.js";
import type { RawEntry } from "../codec/replyBytes.js";
import { MIN_TIMESTAMP_SECONDS, parseTimestamp, type TimeInput } from "../domain/time.js";
import { compareTs, formatTs, nowTs, nsToTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { entryTime } from "./dedupe.js";
import { ExportInterruptedError, ExportUsageError } from "./errors.js";
import { type EngineEntry, exportEntryFromRaw } from "./exportEntry.js";
import { orderedPages, type PipelineStats } from "./orderedPages.js";
import type { ExportCursor, ExportCursorStats, ExportSink } from "./sink.js";
import { type FetchPage, type Slice, type SliceCursor, sliceQueryBounds } from "./sliceWalk.js";
import type { ExportProgress, ExportSummary } from "./summary.js";
import { planWindow, remainingSlices } from "./window.js";

export type { ExportProgress, ExportSummary };

/** Options of {@link exportToSink}. */
export interface ExportToSinkOptions {
  /** Where batches and cursors go. */
  sink: ExportSink;
  /** The client whose log is exported; the engine sends its pages with `searchRawRequest`. */
  client?: AuditLogClient;
  /** Instead of `client`: fetches one page (tests, other transports). */
  fetchPage?: FetchPage<RawEntry>;
  /** Filters (user ids, operations, targets, success, source IPs); the window is `from`/`to`. */
  query?: AuditLogSearchQuery;
  /** Oldest timestamp to export (inclusive); default: the oldest entry the server holds. */
  from?: TimeInput;
  /** Newest timestamp (inclusive); the window never ends later than now − `settleMs`. */
  to?: TimeInput;
  /** Entries younger than this may still be landing and are left out (default 60 000 ms). */
  settleMs?: number;
  /** Most pages in flight (default 12; fewer while the server throttles). */
  concurrency?: number;
  /** Entries per page, 1–1000 (default 1000). */
  perPage?: number;
  /** Least time between `sink.flush` calls (default 1000 ms; 0 = after every batch). */
  commitIntervalMs?: number;
  /** More fields for the walk's identity (see {@link SinkOpenInfo.identity}), e.g. a window as the user wrote it. */
  identity?: Record<string, unknown>;
  /** Stops the walk: the sink is flushed and closed, and the call rejects with {@link ExportInterruptedError}. */
  signal?: AbortSignal;
  onWindow?: (window: { from: Ts; to: Ts; resumed: boolean }) => void;
  onProgress?: (progress: ExportProgress) => void;
  /** The clock (ms since the epoch), for tests. */
  now?: () => number;
}

/** The oldest time a protobuf Timestamp holds: with no `from`, the probes look from there (entries before 1970 included). */
const MIN_TS: Ts = { seconds: MIN_TIMESTAMP_SECONDS, nanos: 0 };
const WINDOW_KEYS = ["from", "to", "page", "perPage", "sortAscending"] as const;

function positiveInteger(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new ExportUsageError({
      input: name,
      problem: `${value} is not an integer from 1 to ${max}`,
      allowed: `an integer from 1 to ${max}`,
    });
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0)
    throw new ExportUsageError({
      input: name,
      problem: `${value} is not a number of milliseconds ≥ 0`,
      allowed: "a number of milliseconds ≥ 0",
    });
  return value;
}

/** The cursor a sink returned from `open` cannot be resumed from. */
function corruptCursor(problem: string): ExportUsageError {
  return new ExportUsageError({ input: "cursor", problem }, problem);
}

function cursorTs(text: string, what: string): Ts {
  const ts = parseTs(text);
  if (ts === undefined)
    throw corruptCursor(`the sink's cursor is corrupt: ${what} is not a timestamp: ${text}`);
  return ts;
}

function fetcherOf(options: ExportToSinkOptions, perPage: number): FetchPage<RawEntry> {
  if (options.fetchPage !== undefined) return options.fetchPage;
  const client = options.client;
  if (client === undefined)
    throw new ExportUsageError(
      { input: "client", problem: "pass a client or a fetchPage" },
      "exportToSink: pass a client or a fetchPage",
    );
  // Validated once: each page only sets the bounds and the page number of this request.
  const template = requestFromValidated(validateQuery({ ...options.query, perPage }), client.userId);
  return async (req) => {
    const page = await client.searchRawRequest(
      {
        ...template,
        query: {
          ...(template.query as NonNullable<typeof template.query>),
          timestampFrom: req.from,
          timestampTo: req.to,
        },
        sortAscending: req.ascending,
        pagination: { page: req.page, perPage: req.perPage },
      },
      {
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.priority !== undefined ? { priority: req.priority } : {}),
      },
    );
    return { entries: page.entries, attempts: page.attempts };
  };
}

/**
 * Runs (or resumes, from the cursor `sink.open` returns) a snapshot-consistent walk of the query's
 * window, handing the sink one batch per page in window order. Every entry the server holds in the
 * pinned window reaches the sink exactly once across interruptions, provided the sink makes each
 * batch and its cursor durable together.
 *
 * @throws ExportUsageError for options refused before any request (or a cursor the engine cannot use);
 * ExportInterruptedError when stopped by `signal` (after flushing and closing the sink); otherwise
 * the error that stopped the walk (after flushing what was written, and closing the sink).
 */
export async function exportToSink(options: ExportToSinkOptions): Promise<ExportSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const { sink, signal } = options;
  const concurrency = positiveInteger(options.concurrency ?? 12, "concurrency", 64);
  const perPage = positiveInteger(options.perPage ?? 1000, "perPage", 1000);
  const settleMs = nonNegative(options.settleMs ?? 60_000, "settleMs");
  const commitIntervalMs = nonNegative(options.commitIntervalMs ?? 1000, "commitIntervalMs");
  for (const key of WINDOW_KEYS) {
    if (options.query !== undefined && key in options.query)
      throw new ExportUsageError({
        input: `query.${key}`,
        problem: "the engine sets it; pass the window as options.from / options.to",
      });
  }
  const from = options.from === undefined ? undefined : parseTimestamp(options.from, "from");
  const to = options.to === undefined ? undefined : parseTimestamp(options.to, "to");
  const fetchPage = fetcherOf(options, perPage);
  const client = options.fetchPage === undefined ? options.client : undefined;
  const identity: Record<string, unknown> = {
    ...(options.client ? { endpoint: options.client.endpoint, userId: options.client.userId } : {}),
    filters: options.query ?? {},
    perPage,
    from: from ? formatTs(from) : null,
    to: to ? formatTs(to) : null,
    ...options.identity,
  };

  const resumeFrom = await sink.open({ identity });
  const before = resumeFrom?.stats;
  const stats: Required<ExportCursorStats> = {
    entries: before?.entries ?? 0,
    pages: before?.pages ?? 0,
    retries: before?.retries ?? 0,
    shiftedPages: before?.shiftedPages ?? 0,
    repeated: before?.repeated ?? 0,
    stale: before?.stale ?? 0,
    requests: before?.requests ?? 0,
  };
  const pipelineStats: PipelineStats = { slices: 0, splits: 0 };
  let window: { from: Ts; to: Ts };
  let pinnedAt: string;
  let slices: Slice[];
  let firstCursor: SliceCursor = { page: 1, boundaryKeys: [] };

  const summary = (): ExportSummary => ({
    entries: stats.entries,
    pages: stats.pages,
    retries: stats.retries,
    shiftedPages: stats.shiftedPages,
    requests: stats.requests,
    repeated: stats.repeated,
    stale: stats.stale,
    slices: pipelineStats.slices,
    splits: pipelineStats.splits,
    lowestConcurrency: pipelineStats.lowestConcurrency ?? concurrency,
    durationMs: performance.now() - started,
    resumed: resumeFrom !== undefined,
    window: { from: formatTs(window.from), to: formatTs(window.to) },
  });
  const cursorAt = (slice: Slice, at: SliceCursor, sliceDone: boolean, complete: boolean): ExportCursor => ({
    version: 1,
    window: { from: formatTs(window.from), to: formatTs(window.to), pinnedAt },
    slice: { from: formatTs(slice.from), to: formatTs(slice.to), last: slice.last },
    page: at.page,
    ...(at.boundary ? { boundary: formatTs(at.boundary) } : {}),
    boundaryKeys: [...at.boundaryKeys],
    sliceDone,
    complete,
    stats: { ...stats },
  });

  try {
    if (resumeFrom !== undefined) {
      if (resumeFrom.version !== 1 || typeof resumeFrom.window !== "object")
        throw corruptCursor("the sink's cursor is not a version 1 export cursor");
      pinnedAt = resumeFrom.window.pinnedAt;
      window = {
        from: cursorTs(resumeFrom.window.from, "window.from"),
        to: cursorTs(resumeFrom.window.to, "window.to"),
      };
      const slice: Slice = {
        from: cursorTs(resumeFrom.slice.from, "slice.from"),
        to: cursorTs(resumeFrom.slice.to, "slice.to"),
        last: resumeFrom.slice.last,
      };
      // A complete cursor leaves only the sink's finishing step: nothing to fetch.
      slices = resumeFrom.complete ? [] : remainingSlices(slice, resumeFrom.sliceDone, window.to);
      if (!resumeFrom.complete && !resumeFrom.sliceDone) {
        firstCursor = {
          page: resumeFrom.page,
          ...(resumeFrom.boundary ? { boundary: cursorTs(resumeFrom.boundary, "boundary") } : {}),
          boundaryKeys: resumeFrom.boundaryKeys,
        };
      }
      options.onWindow?.({ ...window, resumed: true });
    } else {
      const nowNs = tsToNs(nowTs(now()));
      const settled = nsToTs(nowNs - BigInt(Math.round(settleMs)) * 1_000_000n);
      const end = to !== undefined && compareTs(to, settled) < 0 ? to : settled;
      pinnedAt = formatTs(nsToTs(nowNs));
      const probeFrom = from ?? MIN_TS;
      if (compareTs(probeFrom, end) > 0) {
        const problem = `empty window: from ${formatTs(probeFrom)} is after to ${formatTs(end)} (to = min(\`to\`, now − settle ${settleMs} ms))`;
        throw new ExportUsageError({ input: "from", problem }, problem);
      }
      const bounds = sliceQueryBounds({ from: probeFrom, to: end, last: true });
      const probe = async (ascending: boolean) => {
        const page = await fetchPage({ ...bounds, page: 1, perPage: 1, ascending, signal });
        stats.retries += Math.max(0, page.attempts - 1);
        stats.requests += page.attempts;
        const found = page.entries[0];
        // An entry without a timestamp sorts (and is walked) as the epoch: it still bounds the window.
        return found === undefined ? undefined : entryTime(found);
      };
      // Both ends at once: on a remote service each probe is a full round trip before any page moves.
      const probes = Promise.all([probe(true), probe(false)]);
      // The JSONL transcoder compiles while the probes are on the network, not on the first page.
      prepareJsonTranscoder();
      const [first, last] = await probes;
      window = { from: from ?? first ?? end, to: end };
      slices =
        first === undefined || last === undefined
          ? [{ ...window, last: true }]
          : planWindow(window.from, end, first, last, concurrency);
      options.onWindow?.({ ...window, resumed: false });
      await sink.start?.(cursorAt(slices[0] as Slice, firstCursor, false, false));
    }
  } catch (error) {
    await sink.close({ complete: false, error }).catch(() => undefined);
    throw error;
  }

  let lastCommit = now();
  let interrupted = false;
  const counted: FetchPage<RawEntry> = async (req) => {
    const page = await fetchPage(req);
    stats.requests += page.attempts;
    return page;
  };
  try {
    const stream = orderedPages<EngineEntry>(
      slices,
      firstCursor,
      async (req) => {
        const page = await counted(req);
        return { entries: page.entries.map(exportEntryFromRaw), attempts: page.attempts };
      },
      {
        concurrency,
        perPage,
        signal,
        keyOf: (e) => e.key(),
        // Pages waiting for the client's budget ahead of a piece: a split would only add a partial page.
        ...(client !== undefined ? { saturated: (priority: number) => client.queuedAhead(priority) } : {}),
      },
      pipelineStats,
    );
    for await (const page of stream) {
      stats.entries += page.entries.length;
      stats.pages++;
      stats.retries += page.retries;
      stats.repeated += page.repeated;
      stats.stale += page.stale;
      if (page.repeated + page.stale > 0) stats.shiftedPages++;
      const cursor = cursorAt(page.slice, page.cursor, page.done, page.done && page.slice.last);
      await sink.write({ entries: page.entries, cursor, raw: page.entries });
      options.onProgress?.({
        entries: stats.entries,
        pages: stats.pages,
        retries: stats.retries,
        shiftedPages: stats.shiftedPages,
        requests: stats.requests,
      });
      if (now() - lastCommit >= commitIntervalMs) {
        await sink.flush?.();
        lastCommit = now();
      }
      if (signal?.aborted) break;
    }
    if (signal?.aborted) interrupted = true;
  } catch (error) {
    if (!signal?.aborted) {
      await sink
        .flush?.()
        .catch(() => undefined)
        .then(() => sink.close({ complete: false, error }))
        .catch(() => undefined);
      throw error;
    }
    interrupted = true;
  }
  if (interrupted) {
    await sink.flush?.();
    await sink.close({ complete: false });
    throw new ExportInterruptedError(summary());
  }
  await sink.flush?.();
  await sink.close({ complete: true });
  return summary();
}
