/**
 * A {@link SyncStore} held in memory: the contract of packages/cli/src/sync/store.ts and nothing more, so that
 * `runSync` (packages/cli/src/sync/sync.ts) can be tested against the emulator with no Parquet, no PostgreSQL and
 * no child process. It keeps every entry key (it never forgets, which the contract allows), records
 * how often each entry was inserted, and can be told to fail a commit before or after applying it,
 * which is what a crash looks like from the sync's side.
 */

import {
  type SyncCommit,
  type SyncIdentity,
  type SyncState,
  type SyncStore,
  SyncUsageError,
} from "../../packages/cli/src/sync/store.js";
import { canonicalJson } from "../../packages/client/src/domain/canonicalJson.js";
import { compareTs, parseTs, type Ts } from "../../packages/client/src/domain/timestamps.js";

/** A stored entry. */
export interface StoredEntry {
  json: string;
  timestamp: Ts;
}

/** When a commit fails: before it is applied (nothing stored) or after (stored, the caller not told). */
export type CommitFailure = "before" | "after";

/** Thrown by a commit told to fail. */
export class InjectedCommitError extends Error {
  override name = "InjectedCommitError";
}

/** A sync destination in memory; one instance lives across runs, as a database would. */
export class MemoryStore implements SyncStore {
  readonly description = "memory store";
  /** Entries by key, in insertion order. */
  readonly rows = new Map<string, StoredEntry>();
  /** How many times each key was inserted (1 for every key when nothing was stored twice). */
  readonly insertions = new Map<string, number>();
  /** Commits applied, in order: what each offered and inserted. */
  readonly commits: { offered: number; inserted: number; late: number }[] = [];
  #state: SyncState | undefined;
  #open = false;
  /** The commit number (1-based, counted over the store's life) that fails, and how. */
  #failAt: { commit: number; how: CommitFailure } | undefined;
  #attempted = 0;

  constructor(readonly commitEntries?: number) {}

  /** The stored state (a copy), as the next `open` will return it. */
  get state(): SyncState | undefined {
    return this.#state === undefined ? undefined : structuredClone(this.#state);
  }

  /** Makes the `commit`-th commit attempt from now on (1 = the next) fail `how`. */
  failCommit(commit: number, how: CommitFailure): void {
    this.#failAt = { commit: this.#attempted + commit, how };
  }

  async open(identity: SyncIdentity): Promise<SyncState | undefined> {
    if (this.#open) throw new SyncUsageError(`${this.description} is in use by another sync`);
    const held = this.#state?.identity;
    if (held !== undefined && canonicalJson(held) !== canonicalJson(identity))
      throw new SyncUsageError(`${this.description} holds another log (${canonicalJson(held)})`);
    this.#open = true;
    return this.state;
  }

  async commit(commit: SyncCommit): Promise<{ inserted: number; late: number }> {
    if (!this.#open) throw new Error("commit on a closed store");
    const n = ++this.#attempted;
    const fail = this.#failAt?.commit === n ? this.#failAt.how : undefined;
    if (fail === "before") throw new InjectedCommitError(`commit ${n} failed before it was applied`);
    const lateBound = commit.lateAtOrBefore === undefined ? undefined : parseTs(commit.lateAtOrBefore);
    if (commit.lateAtOrBefore !== undefined && lateBound === undefined)
      throw new Error(`lateAtOrBefore is not a timestamp: ${commit.lateAtOrBefore}`);
    let inserted = 0;
    let late = 0;
    for (const e of commit.entries) {
      const key = e.key();
      if (this.rows.has(key)) continue;
      this.rows.set(key, { json: e.json(), timestamp: e.timestamp });
      this.insertions.set(key, (this.insertions.get(key) ?? 0) + 1);
      inserted++;
      if (lateBound !== undefined && compareTs(e.timestamp, lateBound) <= 0) late++;
    }
    // As the contract says: the commit's totals are those before it; the store adds what it inserted.
    const state = structuredClone(commit.state);
    state.totals = {
      ...state.totals,
      entries: state.totals.entries + inserted,
      late: state.totals.late + late,
    };
    this.#state = state;
    this.commits.push({ offered: commit.entries.length, inserted, late });
    if (fail === "after") throw new InjectedCommitError(`commit ${n} failed after it was applied`);
    return { inserted, late };
  }

  async count(): Promise<number> {
    return this.rows.size;
  }

  async close(): Promise<void> {
    this.#open = false;
  }
}
