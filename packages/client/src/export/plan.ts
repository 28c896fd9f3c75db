/**
 * Planning and resuming a walk (the first part of `exportToSink`, engine.ts): the options checked
 * before any request, the walk's identity, and the plan — the pinned window cut into slices, and
 * where in them the walk starts — either pinned anew (two probes find the data's ends) or rebuilt
 * from a sink's cursor. Also the cursor of a point of the plan, which every batch carries.
 */
import type { AuditLogClient } from "../client/client.js";
import { type AuditLogSearchQuery, requestFromValidated, validateQuery } from "../client/query.js";
import { prepareJsonTranscoder } from "../codec/index.js";
import type { RawEntry } from "../codec/replyBytes.js";
import { MIN_TIMESTAMP_SECONDS, parseTimestamp, type TimeInput } from "../domain/time.js";
import { compareTs, formatTs, nowTs, nsToTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { entryTime } from "./dedupe.js";
import { ExportUsageError } from "./errors.js";
import { resumeIdentity } from "./identity.js";
import type { ExportCursor, ExportCursorStats, ExportSink } from "./sink.js";
import { type FetchPage, type Slice, type SliceCursor, sliceQueryBounds } from "./sliceWalk.js";
import type { ExportProgress } from "./summary.js";
import { planWindow, remainingSlices } from "./window.js";

/** The oldest time a protobuf Timestamp holds: with no `from`, the probes look from there (entries before 1970 included). */
const MIN_TS: Ts = { seconds: MIN_TIMESTAMP_SECONDS, nanos: 0 };
const WINDOW_KEYS = ["from", "to", "page", "perPage", "sortAscending"] as const;

/** Options of `exportToSink` (engine.ts), which planning checks. */
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

/** The options of a walk, checked, with defaults applied. */
export interface WalkSettings {
  concurrency: number;
  perPage: number;
  settleMs: number;
  commitIntervalMs: number;
  from: Ts | undefined;
  to: Ts | undefined;
  fetchPage: FetchPage<RawEntry>;
  /** The client the pages go through (its queue tells the scheduler when not to split); absent with `fetchPage`. */
  client: AuditLogClient | undefined;
  /** What the sink stores and compares on resume (see {@link SinkOpenInfo.identity}). */
  identity: Record<string, unknown>;
}

/** Where a walk goes: the pinned window, its slices, and the point of the first one it starts at. */
export interface WalkPlan {
  window: { from: Ts; to: Ts };
  pinnedAt: string;
  slices: Slice[];
  firstCursor: SliceCursor;
  resumed: boolean;
  /** The oldest and newest entries the probes found (a new walk of a window with data): the estimate's base. */
  ends?: { first: Ts; last: Ts };
}

/** Running totals of a walk (a resumed one starts from its cursor's). */
export type WalkStats = Required<ExportCursorStats>;

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
 * Checks the options (before any request or sink call) and applies the defaults.
 * @throws ExportUsageError naming the option that is wrong.
 */
export function walkSettings(options: ExportToSinkOptions): WalkSettings {
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
  const identity: Record<string, unknown> = {
    ...resumeIdentity(options.client, {
      filters: options.query ?? {},
      perPage,
      from: from ? formatTs(from) : null,
      to: to ? formatTs(to) : null,
    }),
    ...options.identity,
  };
  const client = options.fetchPage === undefined ? options.client : undefined;
  return { concurrency, perPage, settleMs, commitIntervalMs, from, to, fetchPage, client, identity };
}

/** The totals a walk starts from: its cursor's, or zeros. */
export function walkStats(resumeFrom: ExportCursor | undefined): WalkStats {
  const before = resumeFrom?.stats;
  return {
    entries: before?.entries ?? 0,
    pages: before?.pages ?? 0,
    retries: before?.retries ?? 0,
    shiftedPages: before?.shiftedPages ?? 0,
    repeated: before?.repeated ?? 0,
    stale: before?.stale ?? 0,
    requests: before?.requests ?? 0,
  };
}

/**
 * The plan of a walk resumed from `cursor` (the window it pinned, the slices left).
 * @throws ExportUsageError for a cursor the engine cannot use.
 */
export function planFromCursor(cursor: ExportCursor): WalkPlan {
  if (cursor.version !== 1 || typeof cursor.window !== "object")
    throw corruptCursor("the sink's cursor is not a version 1 export cursor");
  const window = {
    from: cursorTs(cursor.window.from, "window.from"),
    to: cursorTs(cursor.window.to, "window.to"),
  };
  const slice: Slice = {
    from: cursorTs(cursor.slice.from, "slice.from"),
    to: cursorTs(cursor.slice.to, "slice.to"),
    last: cursor.slice.last,
  };
  let firstCursor: SliceCursor = { page: 1, boundaryKeys: [] };
  if (!cursor.complete && !cursor.sliceDone) {
    firstCursor = {
      page: cursor.page,
      ...(cursor.boundary ? { boundary: cursorTs(cursor.boundary, "boundary") } : {}),
      boundaryKeys: cursor.boundaryKeys,
    };
  }
  return {
    window,
    pinnedAt: cursor.window.pinnedAt,
    // A complete cursor leaves only the sink's finishing step: nothing to fetch.
    slices: cursor.complete ? [] : remainingSlices(slice, cursor.sliceDone, window.to),
    firstCursor,
    resumed: true,
  };
}

/**
 * Pins a new window: `[from, min(to, now − settle)]`, with the data's ends found by two probes
 * (counted in `stats`), cut into slices where the data is.
 * @throws ExportUsageError for an empty window.
 */
export async function pinWindow(
  settings: WalkSettings,
  stats: WalkStats,
  now: () => number,
  signal: AbortSignal | undefined,
): Promise<WalkPlan> {
  const { from, to, settleMs, fetchPage, concurrency } = settings;
  const nowNs = tsToNs(nowTs(now()));
  const settled = nsToTs(nowNs - BigInt(Math.round(settleMs)) * 1_000_000n);
  const end = to !== undefined && compareTs(to, settled) < 0 ? to : settled;
  const pinnedAt = formatTs(nsToTs(nowNs));
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
  const window = { from: from ?? first ?? end, to: end };
  const slices =
    first === undefined || last === undefined
      ? [{ ...window, last: true }]
      : planWindow(window.from, end, first, last, concurrency);
  return {
    window,
    pinnedAt,
    slices,
    firstCursor: { page: 1, boundaryKeys: [] },
    resumed: false,
    ...(first !== undefined && last !== undefined ? { ends: { first, last } } : {}),
  };
}

/** The cursor after `at` in `slice` of `plan`, with the totals so far. */
export function cursorAt(
  plan: WalkPlan,
  slice: Slice,
  at: SliceCursor,
  sliceDone: boolean,
  complete: boolean,
  stats: WalkStats,
): ExportCursor {
  return {
    version: 1,
    window: { from: formatTs(plan.window.from), to: formatTs(plan.window.to), pinnedAt: plan.pinnedAt },
    slice: { from: formatTs(slice.from), to: formatTs(slice.to), last: slice.last },
    page: at.page,
    ...(at.boundary ? { boundary: formatTs(at.boundary) } : {}),
    boundaryKeys: [...at.boundaryKeys],
    sliceDone,
    complete,
    stats: { ...stats },
  };
}
