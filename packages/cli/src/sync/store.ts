/**
 * The contract between `sync` (packages/cli/src/sync/sync.ts: runs, reconcile window, settle, follow) and a
 * destination that keeps a complete copy of the log: the Parquet lake (src/sync/lake/) and
 * PostgreSQL (src/sync/postgres/). A store commits rows and the sync state in one atomic step and
 * skips entries it already holds (by entry key), which is what makes re-reading the reconcile
 * window exactly once.
 */
import {
  AuditUsageError,
  ClarifaiAuditError,
  type UsageProblem,
} from "@clarifai-audit/client/internal/domain/errors.js";
import type { ExportCursor, ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";

/** Whose log a destination holds; a store refuses state written for another identity. */
export interface SyncIdentity {
  userId: string;
  endpoint: string;
  /** Canonical filters of the synced query ({} for the whole log). */
  query: Record<string, unknown>;
}

/** What a store keeps beside its rows, committed with them. */
export interface SyncState {
  version: 1;
  identity: SyncIdentity;
  /**
   * Every entry dated at or before this instant (RFC 3339, up to 9 fractional digits) that the
   * server held when a run walked it is stored. Absent before the first run completes.
   */
  highWater?: string;
  /** The run in progress: its engine cursor (pinned window included). Absent between runs. */
  run?: { cursor: ExportCursor; startedAt: string };
  totals: {
    /** Entries stored. */
    entries: number;
    /** Of those, entries stored by a reconcile pass (dated before the high-water mark they arrived behind). */
    late: number;
    /** Runs completed. */
    runs: number;
  };
  /** Last commit (ISO 8601). */
  updatedAt: string;
}

/** One atomic step: rows (in window order) and the state that follows them. */
export interface SyncCommit {
  /** May hold entries the store already has (the reconcile overlap): the store skips those by key. */
  entries: readonly ExportEntry[];
  /**
   * The state to store with the rows. Its `totals` are those before this commit: the store stores
   * `entries` and `late` plus what it inserts (the sink has counted `runs` already) and returns
   * `{ inserted, late }`.
   */
  state: SyncState;
  /**
   * Entries dated before this instant will never be offered again (they are older than any future
   * reconcile window): a store that keeps entry keys for dedupe may forget theirs.
   */
  forgetKeysBefore?: string;
  /**
   * Entries dated at or before this instant (the high-water mark the run started from) that the
   * store inserts are late arrivals: the store counts them in its result's `late` (and totals).
   */
  lateAtOrBefore?: string;
}

/** A destination `sync` can keep up to date. */
export interface SyncStore {
  /** Human-readable destination (no password), for messages. */
  readonly description: string;
  /**
   * Creates or migrates the destination, takes its lock (a second sync of it is refused with
   * {@link SyncUsageError}), and returns its state (undefined when empty). Throws SyncUsageError
   * for another identity's state or a newer schema, before writing anything.
   */
  open(identity: SyncIdentity): Promise<SyncState | undefined>;
  /**
   * Called once a run knows the oldest entry it may offer (`from`), before it offers any. A store
   * that forgets entry keys ({@link SyncCommit.forgetKeysBefore}) gets back those it needs to skip
   * every entry it holds from `from` on: runs differ in --reconcile and --settle, so a run may reach
   * further back than the one before it forgot.
   */
  prepare?(from: string): Promise<void>;
  /** Entries per commit this store works best with (the sync's default when it sets none). */
  readonly commitEntries?: number;
  /**
   * Commits the store accepts before the earlier ones have resolved (default 1). A store that takes
   * more than one applies them in call order, each atomically, and adds a commit's inserted entries
   * to its own totals of the commits before it: the sink's `state.totals` cannot count the ones
   * still in flight.
   */
  readonly commitsInFlight?: number;
  /** Stores the entries it does not hold yet and the new state, atomically; says how many were new. */
  commit(commit: SyncCommit): Promise<{ inserted: number; late?: number }>;
  /**
   * The entries the destination holds now, counted there (rows may have been deleted since they
   * were stored, which `totals` cannot know): what a run's summary reports.
   */
  count?(): Promise<number>;
  /** Releases the lock and connections (after {@link hold}: all but the lock, see there). */
  close(): Promise<void>;
  /**
   * From now on `close` ends a run but keeps the destination's lock (PostgreSQL: the session that
   * holds it), and the next `open` reuses it, until {@link release}: `sync --follow` holds its
   * destination for its whole life, so a second sync is refused between runs too, not only during one.
   */
  hold?(): void;
  /** Ends a {@link hold}: releases the lock and connections. */
  release?(): Promise<void>;
  /** A signed destination's newest digest (its seq and hash), once open; undefined when unsigned. */
  digestHead?(): { seq: number; hash: string } | undefined;
}

/**
 * Bad input or a refused destination. Given one sentence, it is the destination's (`input` is
 * `store`) and the sentence is the message; given fields, the message is `INPUT: PROBLEM`.
 */
export class SyncUsageError extends AuditUsageError {
  override name = "SyncUsageError";

  constructor(problem: string | UsageProblem) {
    if (typeof problem === "string") super({ input: "store", problem }, problem);
    else super(problem);
  }

  /** The destination refused, with `problem` after the option's name (the CLI's `--dest: PROBLEM`, or `--lake: PROBLEM`). */
  static store(problem: string, allowed?: string): SyncUsageError {
    return new SyncUsageError({ input: "store", problem, ...(allowed === undefined ? {} : { allowed }) });
  }
}

/**
 * A fenced destination refused a commit (or an open): a newer owner of the account, holding a
 * greater fencing token (the coordination lease's), has claimed it since. Nothing was written; the
 * owner that gets this has lost the account and must stop walking it.
 */
export class DestinationFencedError extends ClarifaiAuditError {
  override name = "DestinationFencedError";

  constructor(
    /** The destination (no password). */
    readonly destination: string,
    readonly account: string,
    /** This store's token. */
    readonly token: number,
    /** The greater token the destination holds. */
    readonly newer: number,
  ) {
    super(
      `${destination}: account ${JSON.stringify(account)} is fenced: this owner's token ${token} is older than ` +
        `token ${newer} of a newer owner; nothing was written`,
    );
  }
}
