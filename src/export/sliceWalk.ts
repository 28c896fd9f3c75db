/**
 * Walks one time slice of a pinned window, oldest first, by offset pagination — the only paging the
 * API offers — and turns it into a stream that neither loses nor repeats entries while the log grows.
 *
 * Why a sequential walk is safe: the log only grows, so an entry's offset in an ascending query can
 * only increase over time. Page j is fetched after page j-1; an entry that was not yet reached by page
 * j-1 (offset ≥ (j-1)·P then) still has offset ≥ (j-1)·P when page j is fetched, so it lands in page
 * j or a later one, and the walk ends only on a short page, which holds every remaining offset. What
 * growth can do is push already-written entries forward into the next page; those repeats are always
 * older than, or as old as, the newest entry written (the boundary), so the walk drops everything
 * older than the boundary and checks entries *at* the boundary against the keys written there. Only
 * those keys are kept, so memory does not grow with the size of the slice.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { entryKey } from "../domain/entryKey.js";
import { compareTs, nsToTs, type Ts, tsToNs } from "../domain/timestamps.js";

/** One page request over `[from, to]` (bounds as sent); oldest first unless `ascending` is false. */
export interface PageRequest {
  from?: Ts;
  to: Ts;
  page: number;
  perPage: number;
  ascending: boolean;
  signal?: AbortSignal;
}

/** What the walk needs of an entry: its timestamp (absent reads as the epoch). */
export interface WalkEntry {
  timestamp?: Ts | undefined;
}

/** The dedupe key of an entry (see entryKey.ts); called only for entries at boundary timestamps. */
export type EntryKeyOf<E> = (entry: E) => string;

/**
 * What a page fetch returns; `attempts` counts the RPCs it took (1 without retries). Entries are
 * decoded objects by default, or anything with a timestamp (e.g. undecoded entry bytes).
 */
export interface FetchedPage<E extends WalkEntry = AuditLogEntry> {
  entries: E[];
  attempts: number;
}

/** Fetches one page; injected so the exporter can be driven by any client (or a test). */
export type FetchPage<E extends WalkEntry = AuditLogEntry> = (
  request: PageRequest,
) => Promise<FetchedPage<E>>;

/**
 * A time slice: entries with `from ≤ timestamp < to`, or `≤ to` for the window's last slice. `to` may
 * shrink while the slice is walked (the scheduler splits slow slices); it never shrinks below what the
 * walk has already emitted.
 */
export interface Slice {
  from: Ts;
  to: Ts;
  last: boolean;
  /** Newest timestamp the walk has emitted; updated synchronously as each page is applied. */
  reached?: Ts;
}

/** Where a slice walk stands between pages; persisted in the manifest so a walk can resume. */
export interface SliceCursor {
  /** Next page to fetch (1-based). */
  page: number;
  /** Newest timestamp seen in the slice so far. */
  boundary?: Ts;
  /** Keys of the entries at `boundary` that were emitted. */
  boundaryKeys: string[];
}

/** One fetched page after dedupe, with the cursor that follows it. */
export interface WalkedPage<E extends WalkEntry = AuditLogEntry> {
  entries: E[];
  cursor: SliceCursor;
  /** Entries dropped because they had already been emitted (pushed forward by growth). */
  repeated: number;
  /** Entries older than the boundary: repeats, or late arrivals behind the walk. */
  stale: number;
  /** RPC attempts beyond the first. */
  retries: number;
  /** True when this was the slice's last page. */
  done: boolean;
}

const ONE_NS = 1n;

/** The query bounds for a slice, widened by 1 ns so either inclusivity of the server is covered. */
export function sliceQueryBounds(slice: Slice): { from: Ts; to: Ts } {
  return { from: nsToTs(tsToNs(slice.from) - ONE_NS), to: nsToTs(tsToNs(slice.to) + ONE_NS) };
}

function inSlice(slice: Slice, ts: Ts): "before" | "in" | "after" {
  if (compareTs(ts, slice.from) < 0) return "before";
  const c = compareTs(ts, slice.to);
  if (c > 0 || (c === 0 && !slice.last)) return "after";
  return "in";
}

/**
 * Applies one raw page to the cursor: returns the entries to emit and the next cursor. Pure, so the
 * dedupe rule is unit-testable without a server.
 */
export function applyPage<E extends WalkEntry = AuditLogEntry>(
  slice: Slice,
  cursor: SliceCursor,
  raw: readonly E[],
  perPage: number,
  keyOf: EntryKeyOf<E> = entryKey as unknown as EntryKeyOf<E>,
): Omit<WalkedPage<E>, "retries"> {
  const t0 = cursor.boundary;
  const keys0 = new Set(cursor.boundaryKeys);
  let finalT = t0;
  let beyond = false;
  for (const e of raw) {
    const ts = e.timestamp ?? { seconds: 0, nanos: 0 };
    const where = inSlice(slice, ts);
    if (where === "after") beyond = true;
    else if (where === "in" && (finalT === undefined || compareTs(ts, finalT) > 0)) finalT = ts;
  }
  const newKeys =
    finalT !== undefined && t0 !== undefined && compareTs(finalT, t0) === 0 ? keys0 : new Set<string>();
  const out: E[] = [];
  let running = t0;
  let repeated = 0;
  let stale = 0;
  for (const e of raw) {
    const ts = e.timestamp ?? { seconds: 0, nanos: 0 };
    if (inSlice(slice, ts) !== "in") continue;
    if (running !== undefined && compareTs(ts, running) < 0) {
      stale++;
      continue;
    }
    const atT0 = t0 !== undefined && compareTs(ts, t0) === 0;
    const atFinal = finalT !== undefined && compareTs(ts, finalT) === 0;
    const key = atT0 || atFinal ? keyOf(e) : undefined;
    if (atT0 && key !== undefined && keys0.has(key)) {
      repeated++;
      continue;
    }
    running = ts;
    out.push(e);
    if (atFinal && key !== undefined) newKeys.add(key);
  }
  const done = raw.length < perPage || beyond;
  return {
    entries: out,
    cursor: {
      page: cursor.page + 1,
      boundary: finalT,
      boundaryKeys: finalT === undefined ? [] : [...newKeys],
    },
    repeated,
    stale,
    done,
  };
}

/**
 * Walks `slice` from `cursor` until its last page, yielding each page after dedupe. The slice's `to`
 * is re-read before every fetch and applied to each page as it arrives, so the scheduler can shrink
 * it in between.
 */
export async function* walkSlice<E extends WalkEntry = AuditLogEntry>(
  slice: Slice,
  cursor: SliceCursor,
  fetchPage: FetchPage<E>,
  perPage: number,
  signal?: AbortSignal,
  keyOf?: EntryKeyOf<E>,
): AsyncGenerator<WalkedPage<E>> {
  let at = cursor;
  for (;;) {
    signal?.throwIfAborted();
    const bounds = sliceQueryBounds(slice);
    const fetched = await fetchPage({ ...bounds, page: at.page, perPage, ascending: true, signal });
    const walked = applyPage(slice, at, fetched.entries, perPage, keyOf);
    at = walked.cursor;
    slice.reached = walked.cursor.boundary;
    yield { ...walked, retries: Math.max(0, fetched.attempts - 1) };
    if (walked.done) return;
  }
}
