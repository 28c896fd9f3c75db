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
import { entryKey } from "../codec/entryKey.js";
import { MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from "../domain/time.js";
import { compareTs, nsToTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { type DedupeState, dedupeEntries, entryTime } from "./dedupe.js";

/** One page request over `[from, to]` (bounds as sent); oldest first unless `ascending` is false. */
export interface PageRequest {
  from?: Ts;
  to: Ts;
  page: number;
  perPage: number;
  ascending: boolean;
  signal?: AbortSignal;
  /**
   * The page's place in the window (its slice's start, ns since the epoch): lower is needed sooner
   * by the writer. The engine passes it to the client's request budget, which serves waiting calls
   * in this order.
   */
  priority?: number;
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
 * A time slice: entries with `from ≤ timestamp < to`, or `≤ to` for the window's last slice. A value:
 * the scheduler narrows a walk by giving it a new, narrower slice (see {@link SliceWalk.narrow}).
 */
export interface Slice {
  readonly from: Ts;
  readonly to: Ts;
  readonly last: boolean;
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

const MIN_NS = BigInt(MIN_TIMESTAMP_SECONDS) * 1_000_000_000n;
const MAX_NS = BigInt(MAX_TIMESTAMP_SECONDS) * 1_000_000_000n + 999_999_999n;

/**
 * The query bounds for a slice, widened by 1 ns so either inclusivity of the server is covered
 * (but never past what a protobuf Timestamp can hold, which the server would refuse).
 */
export function sliceQueryBounds(slice: Slice): { from: Ts; to: Ts } {
  const from = tsToNs(slice.from) - ONE_NS;
  const to = tsToNs(slice.to) + ONE_NS;
  return { from: nsToTs(from < MIN_NS ? MIN_NS : from), to: nsToTs(to > MAX_NS ? MAX_NS : to) };
}

function inSlice(slice: Slice, ts: Ts): "before" | "in" | "after" {
  if (compareTs(ts, slice.from) < 0) return "before";
  const c = compareTs(ts, slice.to);
  if (c > 0 || (c === 0 && !slice.last)) return "after";
  return "in";
}

/**
 * Applies one raw page to the cursor: returns the entries to emit and the next cursor. Pure, so the
 * dedupe rule is unit-testable without a server. The dedupe is the boundary rule of dedupe.ts with
 * no lookback: only the keys of the entries at the newest timestamp emitted are carried.
 */
export function applyPage<E extends WalkEntry = AuditLogEntry>(
  slice: Slice,
  cursor: SliceCursor,
  raw: readonly E[],
  perPage: number,
  keyOf: EntryKeyOf<E> = entryKey as unknown as EntryKeyOf<E>,
): Omit<WalkedPage<E>, "retries"> {
  let beyond = false;
  const inside: E[] = [];
  for (const e of raw) {
    const where = inSlice(slice, entryTime(e));
    if (where === "after") beyond = true;
    else if (where === "in") inside.push(e);
  }
  const boundary = cursor.boundary;
  const state: DedupeState = {
    position: boundary,
    keys: new Map(boundary === undefined ? [] : cursor.boundaryKeys.map((k) => [k, tsToNs(boundary)])),
  };
  const { fresh, repeated, stale } = dedupeEntries(inside, state, 0n, keyOf);
  return {
    entries: fresh,
    cursor: {
      page: cursor.page + 1,
      boundary: state.position,
      boundaryKeys: state.position === undefined ? [] : [...state.keys.keys()],
    },
    repeated,
    stale,
    done: raw.length < perPage || beyond,
  };
}

/**
 * Walks one slice from a cursor, one page after the other. The scheduler may narrow the slice while
 * a page is in flight ({@link narrow}); the page is then applied to the narrower slice, so the walk
 * never emits what now belongs to the piece cut off.
 */
export class SliceWalk<E extends WalkEntry = AuditLogEntry> {
  #slice: Slice;
  #cursor: SliceCursor;
  #done = false;

  constructor(
    slice: Slice,
    cursor: SliceCursor,
    private readonly fetchPage: FetchPage<E>,
    private readonly perPage: number,
    private readonly keyOf?: EntryKeyOf<E>,
  ) {
    this.#slice = slice;
    this.#cursor = cursor;
  }

  /** The slice as it stands now. */
  get slice(): Slice {
    return this.#slice;
  }

  /** Where the walk stands: the next page, the boundary and its keys. */
  get cursor(): SliceCursor {
    return this.#cursor;
  }

  /** Newest timestamp emitted (a walk resumed mid-slice has emitted up to its cursor's boundary). */
  get reached(): Ts | undefined {
    return this.#cursor.boundary;
  }

  /** The last page was fetched. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Ends this walk's slice at `cut` (exclusive) and returns the slice cut off, `[cut, to]`, which
   * takes over `last`. Safe while a page is in flight: everything emitted is at or before `reached`,
   * and the caller cuts after it.
   */
  narrow(cut: Ts): Slice {
    const old = this.#slice;
    this.#slice = { from: old.from, to: cut, last: false };
    return { from: cut, to: old.to, last: old.last };
  }

  /** Fetches and applies the next page. */
  async next(signal?: AbortSignal): Promise<WalkedPage<E>> {
    if (this.#done) throw new Error("SliceWalk.next after the last page");
    signal?.throwIfAborted();
    const bounds = sliceQueryBounds(this.#slice);
    const fetched = await this.fetchPage({
      ...bounds,
      page: this.#cursor.page,
      perPage: this.perPage,
      ascending: true,
      signal,
      priority: Number(tsToNs(this.#slice.from)),
    });
    const walked = applyPage(this.#slice, this.#cursor, fetched.entries, this.perPage, this.keyOf);
    this.#cursor = walked.cursor;
    this.#done = walked.done;
    return { ...walked, retries: Math.max(0, fetched.attempts - 1) };
  }
}
