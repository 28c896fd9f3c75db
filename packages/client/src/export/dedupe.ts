/**
 * Boundary dedupe, shared by the export's slice walk, `tail` and `watch`. All read an append-mostly log
 * oldest first and may meet an entry twice: a page boundary shifts when entries land before it, or a
 * poll re-reads the overlap behind the newest entry it printed. Both keep a position (the newest
 * timestamp handed over) and the keys of the entries handed over at or after `position − lookback`:
 * an entry older than that floor is stale (dropped), one whose key is remembered is a repeat
 * (dropped), anything else is new. The slice walk uses a lookback of 0 (only the keys at the
 * boundary), `tail` its `--lookback`. Only those keys are kept, so memory does not grow with the log.
 */
import { compareTs, nowTs, nsToTs, type Ts, tsToNs } from "../domain/timestamps.js";

/** What dedupe needs of an entry: its timestamp (absent reads as the epoch). */
export interface TimedEntry {
  timestamp?: Ts | undefined;
}

const EPOCH: Ts = { seconds: 0, nanos: 0 };

/** The timestamp dedupe reads for `entry`. */
export function entryTime(entry: TimedEntry): Ts {
  return entry.timestamp ?? EPOCH;
}

/** Where a reader stands: the newest timestamp handed over, and the keys it still remembers. */
export interface DedupeState {
  position: Ts | undefined;
  /** Key → nanoseconds since the epoch of the entry it belongs to; all at or after the floor. */
  keys: Map<string, bigint>;
}

/** The outcome of {@link dedupeEntries}. */
export interface DedupeResult<E> {
  fresh: E[];
  /** Dropped: their key was remembered. */
  repeated: number;
  /** Dropped: older than position − lookback. */
  stale: number;
  /** Keys forgotten because their entries fell behind position − lookback (tail counts them). */
  forgotten: number;
}

/**
 * Filters `entries` (in the order read) against `state`, updating it. Keys are computed only where
 * they can matter: for an entry at or behind the position (it may be a repeat), or within `lookback`
 * of the newest timestamp of the batch (it will be remembered). Keys behind the floor are forgotten.
 */
export function dedupeEntries<E extends TimedEntry>(
  entries: readonly E[],
  state: DedupeState,
  lookbackNs: bigint,
  keyOf: (entry: E) => string,
): DedupeResult<E> {
  let newest = state.position;
  for (const e of entries) {
    const ts = entryTime(e);
    if (newest === undefined || compareTs(ts, newest) > 0) newest = ts;
  }
  const rememberFrom = newest === undefined ? 0n : tsToNs(newest) - lookbackNs;
  const fresh: E[] = [];
  let repeated = 0;
  let stale = 0;
  let floor = state.position === undefined ? undefined : tsToNs(state.position) - lookbackNs;
  // Printed entries whose keys are not kept (older than the lookback already) count as forgotten.
  let forgotten = 0;
  for (const e of entries) {
    const ts = entryTime(e);
    const ns = tsToNs(ts);
    if (floor !== undefined && ns < floor) {
      stale++;
      continue;
    }
    const behind = state.position !== undefined && compareTs(ts, state.position) <= 0;
    const key = behind || ns >= rememberFrom ? keyOf(e) : undefined;
    if (key !== undefined && state.keys.has(key)) {
      repeated++;
      continue;
    }
    fresh.push(e);
    if (key !== undefined) state.keys.set(key, ns);
    else forgotten++;
    if (state.position === undefined || compareTs(ts, state.position) > 0) {
      state.position = ts;
      floor = ns - lookbackNs;
    }
  }
  // Once per batch: entries behind the floor are stale whatever their key, so late pruning is safe.
  if (floor !== undefined)
    for (const [k, at] of state.keys)
      if (at < floor) {
        state.keys.delete(k);
        forgotten++;
      }
  return { fresh, repeated, stale, forgotten };
}

/**
 * The window a poll reads: from `lookback` behind `position` (never before `start`), inclusive, to
 * `to` (now); undefined when that is empty (a start in the future).
 */
export function pollWindow(
  position: Ts,
  start: Ts,
  lookbackNs: bigint,
  to: Ts = nowTs(),
): { from: Ts; to: Ts } | undefined {
  const back = nsToTs(tsToNs(position) - lookbackNs);
  const from = compareTs(back, start) > 0 ? back : start;
  return compareTs(from, to) > 0 ? undefined : { from, to };
}
