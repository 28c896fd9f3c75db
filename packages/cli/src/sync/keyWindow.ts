/**
 * The dedupe of a store that keeps no entries, only their keys (the collector's alert store, the
 * at-least-once delivery stores of syslog and HEC): which offered entries are new, which of those
 * are late, and the keys of the reconcile window in the store's own state file
 * (packages/cli/src/sync/keyTable.ts holds the format).
 *
 * Forgotten keys cannot be recalled (such a store cannot read its entries back, as the lake does):
 * an entry dated before the bound its keys were forgotten at (`keysFrom`) is taken as already
 * stored and skipped. A later run whose reconcile window reaches further back than that (a longer
 * reconcile or settle than before) therefore skips late arrivals older than the bound;
 * {@link KeyWindow.forget}'s `keepNs` widens the margin.
 */

import { parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";
import { decodeKeys, encodeKeys, forgetKeys, type KeyTable, keyPrefix } from "./keyTable.js";
import type { SyncState } from "./store.js";

/** Nanoseconds of an RFC 3339 timestamp the sync handed over (never malformed: a bug otherwise). */
export function nsOf(text: string): bigint {
  const ts = parseTs(text);
  if (ts === undefined) throw new Error(`not a timestamp: ${text}`);
  return tsToNs(ts);
}

/** How a state file saves a {@link KeyWindow}. */
export interface SavedKeys {
  /** {@link encodeKeys}'s text. */
  keys: string;
  /** Keys of entries dated before this instant (ns, decimal) were forgotten. Absent: none yet. */
  keysFrom?: string;
}

/** The keys of the entries a store holds in the reconcile window, and the bound of the forgotten ones. */
export class KeyWindow {
  private constructor(
    private readonly keys: KeyTable,
    private fromNs: bigint | undefined,
  ) {}

  /** An empty window (a new state file). */
  static empty(): KeyWindow {
    return new KeyWindow(new Map(), undefined);
  }

  /**
   * The window a state file saved (its keys checked with encodedKeysProblem when it was read).
   * @throws Error when the keys do not decode.
   */
  static load(saved: SavedKeys): KeyWindow {
    return new KeyWindow(
      decodeKeys(saved.keys),
      saved.keysFrom !== undefined ? BigInt(saved.keysFrom) : undefined,
    );
  }

  /**
   * The entries of `entries` not held yet, in order, their keys now held; and how many of them are
   * dated at or before `lateAtOrBefore` (SyncCommit.lateAtOrBefore).
   */
  admit(entries: readonly ExportEntry[], lateAtOrBefore?: string): { fresh: ExportEntry[]; late: number } {
    const lateNs = lateAtOrBefore !== undefined ? nsOf(lateAtOrBefore) : undefined;
    const fresh: ExportEntry[] = [];
    let late = 0;
    for (const entry of entries) {
      const prefix = keyPrefix(entry.key());
      if (this.keys.has(prefix)) continue;
      const ns = tsToNs(entry.timestamp);
      // Older than the forgotten keys: stored by an earlier commit (module comment).
      if (this.fromNs !== undefined && ns < this.fromNs) continue;
      this.keys.set(prefix, ns);
      fresh.push(entry);
      if (lateNs !== undefined && ns <= lateNs) late++;
    }
    return { fresh, late };
  }

  /**
   * Forgets the keys dated before `before` (SyncCommit.forgetKeysBefore) less `keepNs`; returns that
   * bound (undefined when `before` is).
   */
  forget(before: string | undefined, keepNs = 0n): bigint | undefined {
    if (before === undefined) return undefined;
    const bound = nsOf(before) - keepNs;
    forgetKeys(this.keys, bound);
    if (this.fromNs === undefined || bound > this.fromNs) this.fromNs = bound;
    return bound;
  }

  /** Whether a run from `from` re-reads entries whose keys were forgotten (they will be skipped). */
  reachesForgotten(from: string): boolean {
    return this.fromNs !== undefined && nsOf(from) < this.fromNs;
  }

  /** The window as a state file saves it. */
  save(): SavedKeys {
    return {
      keys: encodeKeys(this.keys),
      ...(this.fromNs !== undefined ? { keysFrom: String(this.fromNs) } : {}),
    };
  }
}

/** `state` with `inserted` and `late` added to the totals it carries (SyncCommit.state's are those before the commit). */
export function stateAfter(state: SyncState, inserted: number, late: number): SyncState {
  const totals = state.totals;
  return {
    ...state,
    totals: { entries: totals.entries + inserted, late: totals.late + late, runs: totals.runs },
  };
}
