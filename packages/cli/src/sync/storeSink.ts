/**
 * One destination's side of a walk (`sync`'s one store, or one member of the collector's fan-out,
 * fanout.ts): the batches handed to it wait in its own queue and go to `store.commit`, a commit's
 * worth at a time, with the cursor of the last batch each commit carries, so a SIGKILL at any instant
 * resumes where its last commit ended. Commits run in the background while the walk goes on (as many
 * at a time as the store takes).
 *
 * A member never holds back the walk for good: a failed commit detaches it ("failed"); a member
 * whose queue has reached its lag bound holds the walk only while it makes progress, and one that
 * ends no commit for the stall time is detached ("lagging"). Either way its queue is dropped, its
 * in-flight commits end (or fail) on their own, and no commit of its starts after, so its store
 * keeps the cursor of its last good commit, from which its next run resumes.
 */
import { formatTimestampExact } from "@clarifai-audit/client/internal/domain/time.js";
import {
  compareTs,
  formatTs,
  nsToTs,
  type Ts,
  tsToNs,
} from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { ExportCursor, ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { SyncState, SyncStore } from "./store.js";
import { mustTs } from "./syncRun.js";

/** What a member reports of its commits and its detaching (the fan-out's events, without the member's id). */
export interface MemberReport {
  committed(c: { inserted: number; late: number; position?: string; highWater?: string }): void;
  failed(error: unknown): void;
  detached(reason: "lagging" | "failed"): void;
}

/** How a member commits. */
export interface MemberSettings {
  /** Dedupe horizon: how far behind the window's end the next run reaches back. */
  reconcileNs: bigint;
  /** Entries per commit. */
  commitEntries: number;
  /** Commits the store takes at once. */
  commitsInFlight: number;
  /** Uncommitted entries at which the walk waits for the member (Infinity: never). */
  maxLagEntries: number;
  /** How long a member at its lag bound may end no commit before it is detached as lagging. */
  maxStallMs: number;
  /** When this run began (ISO 8601): the state's `run.startedAt` of a new run. */
  startedAt: string;
  now: () => number;
}

/** Where a member stands: fed by the walk, detached (and why), or done with its window. */
export type MemberStatus = "attached" | "failed" | "lagging" | "done";

/** One destination fed by a walk (see the module comment). */
export class MemberSink {
  #state: SyncState;
  /** Batches handed over, not yet in a commit (a pinned window: a batch of no entries). */
  #pending: Queued[] = [];
  #pendingEntries = 0;
  /** The cursor of the last commit started: the walk's end commits the run's end after it. */
  #cursor: ExportCursor | undefined;
  /** Commit the whole queue as soon as the store takes commits (the engine's commit interval, the end). */
  #flushWanted = false;
  /** Detaches the member when it ends no commit for the stall time at its lag bound. */
  #stall: NodeJS.Timeout | undefined;
  /** Commits started and not ended, and the entries they carry. */
  #inflight = 0;
  #inflightEntries = 0;
  /** Ends when every commit started so far has ended and been accounted for, in call order; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  /** Newest timestamp committed in this run: what is older is never offered again by this run. */
  #position: Ts | undefined;
  #status: MemberStatus = "attached";
  /** Why the member left the walk before its end, if it did (a failed walk ends it without detaching it). */
  detached: "lagging" | "failed" | undefined;
  error: unknown;
  inserted = 0;
  late = 0;
  walked = 0;

  constructor(
    readonly id: string,
    readonly store: SyncStore,
    state: SyncState,
    private readonly settings: MemberSettings,
    private readonly report: MemberReport,
    /** Called whenever the member's queue shrinks or it leaves the walk: a waiting walk looks again. */
    private readonly changed: () => void,
  ) {
    this.#state = state;
  }

  /** The state as committed so far (totals of every ended commit included). */
  get current(): SyncState {
    return this.#state;
  }

  get status(): MemberStatus {
    return this.#status;
  }

  get attached(): boolean {
    return this.#status === "attached";
  }

  /** The walk may go on for this member: its queue holds less than a commit's worth. */
  get hasRoom(): boolean {
    return this.attached && this.#pendingEntries < this.settings.commitEntries;
  }

  /** The member is as far behind the walk as it may be: the walk waits for it (while it makes progress). */
  get atBound(): boolean {
    return this.attached && this.queued >= this.settings.maxLagEntries;
  }

  /** Everything handed over is committed (no queue, no commit in flight). */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#inflight === 0;
  }

  /** Waits for every commit started so far to end (the store may be closed after). */
  settled(): Promise<void> {
    return this.#tail;
  }

  /** Entries handed over and not yet committed (queued or in a commit that has not ended). */
  get queued(): number {
    return this.#pendingEntries + this.#inflightEntries;
  }

  /** A new walk's window is pinned: it is committed before anything else, so a crash resumes this window. */
  pin(cursor: ExportCursor): void {
    if (!this.attached) return;
    this.#pending.push({ entries: [], cursor, pin: true });
    this.flush();
  }

  /** Hands over a batch (the same entries objects every member gets: never changed here). */
  give(entries: readonly ExportEntry[], cursor: ExportCursor): void {
    if (!this.attached) return;
    this.#pending.push({ entries, cursor });
    this.#pendingEntries += entries.length;
    this.walked += entries.length;
    this.#pump();
    this.#watch();
  }

  /**
   * At its lag bound, the member has the stall time to end a commit (each one ended starts it
   * again); below it, no clock runs.
   */
  #watch(restart = false): void {
    if (!this.atBound || restart) {
      clearTimeout(this.#stall);
      this.#stall = undefined;
    }
    if (this.atBound && this.#stall === undefined && Number.isFinite(this.settings.maxStallMs)) {
      this.#stall = setTimeout(() => {
        this.#stall = undefined;
        if (this.atBound) this.#detach("lagging");
      }, this.settings.maxStallMs);
    }
  }

  /** The engine's commit interval: commit what is queued as soon as the store takes another commit. */
  flush(): void {
    if (!this.attached) return;
    this.#flushWanted = true;
    this.#pump();
  }

  /**
   * The walk ended: commits what is queued and waits for every commit; when the window was walked
   * to its end (and the member is still attached), commits the end of the run (the new high-water
   * mark). Never rejects: a failure detaches the member.
   */
  async finish(complete: boolean): Promise<void> {
    // The walk is over: nothing waits for this member any more.
    clearTimeout(this.#stall);
    this.#stall = undefined;
    while (this.attached && !this.idle) {
      this.flush();
      await this.#tail;
    }
    await this.#tail;
    if (!complete || !this.attached) return;
    try {
      const cursor = this.#cursor ?? this.#state.run?.cursor;
      if (cursor !== undefined) {
        crashPoint("sync.window-walked");
        this.#start(this.#endState(cursor));
        await this.#tail;
        if (this.attached) crashPoint("sync.run-ended");
      }
    } catch (error) {
      this.#fail(error);
    }
    if (this.attached) this.#status = "done";
  }

  /** The state without a run: the window's end is the new high-water mark. */
  #endState(cursor: ExportCursor): SyncState & { forget: string } {
    const end = mustTs(cursor.window.to, "window.to");
    const { run: _run, ...rest } = this.#state;
    return {
      ...rest,
      highWater: cursor.window.to,
      totals: { ...this.#state.totals, runs: this.#state.totals.runs + 1 },
      updatedAt: new Date(this.settings.now()).toISOString(),
      forget: formatTs(nsToTs(tsToNs(end) - this.settings.reconcileNs)),
    };
  }

  /** Starts the commits the queue and the store's limit allow. */
  #pump(): void {
    while (
      this.attached &&
      this.#pending.length > 0 &&
      this.#inflight < this.settings.commitsInFlight &&
      (this.#flushWanted || this.#pendingEntries >= this.settings.commitEntries)
    ) {
      this.#start(undefined);
    }
    if (this.#pending.length === 0) this.#flushWanted = false;
  }

  /**
   * Starts a commit of the queue's oldest batches, a commit's worth (or of the run's end, `final`),
   * and accounts for its result once every commit before it has been accounted for: stores apply
   * commits in call order.
   */
  #start(final: (SyncState & { forget: string }) | undefined): void {
    // Everything this commit stores is taken before its first await (the walk goes on meanwhile).
    const taken: (readonly ExportEntry[])[] = [];
    let count = 0;
    let pinned = false;
    while (
      final === undefined &&
      this.#pending.length > 0 &&
      (taken.length === 0 || count < this.settings.commitEntries)
    ) {
      const batch = this.#pending.shift() as Queued;
      pinned ||= batch.pin === true;
      taken.push(batch.entries);
      count += batch.entries.length;
      this.#cursor = batch.cursor;
    }
    this.#pendingEntries -= count;
    const entries = taken.length === 1 ? (taken[0] as readonly ExportEntry[]) : taken.flat();
    const last = entries[entries.length - 1];
    if (last !== undefined) this.#position = last.timestamp;
    let state: SyncState;
    let forget: string;
    if (final !== undefined) {
      // A run resumed from a cursor that had walked the whole window writes nothing before this:
      // it has no cursor of its own (reading one here left such a destination stuck for good).
      const { forget: f, ...s } = final;
      state = s;
      forget = f;
    } else {
      const cursor = this.#cursor as ExportCursor;
      const windowEnd = mustTs(cursor.window.to, "window.to");
      // Older than both what this run has passed and the next run's reconcile window: never
      // offered again by this run (a later run that reaches further back asks the store to
      // recall them: SyncStore.prepare).
      const nextFrom = nsToTs(tsToNs(windowEnd) - this.settings.reconcileNs);
      forget = formatTs(
        this.#position
          ? minTs(this.#position, nextFrom)
          : minTs(mustTs(cursor.window.from, "window.from"), nextFrom),
      );
      state = {
        ...this.#state,
        run: { cursor, startedAt: this.#state.run?.startedAt ?? this.settings.startedAt },
        updatedAt: new Date(this.settings.now()).toISOString(),
      };
    }
    const position = this.#position;
    this.#inflight++;
    this.#inflightEntries += count;
    let call: Promise<{ inserted: number; late?: number }>;
    try {
      call = this.store.commit({
        entries,
        state,
        forgetKeysBefore: forget,
        ...(this.#state.highWater !== undefined ? { lateAtOrBefore: this.#state.highWater } : {}),
      });
    } catch (error) {
      call = Promise.reject(error);
    }
    const before = this.#tail;
    this.#tail = (async () => {
      const outcome = await call.then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      await before;
      this.#inflight--;
      this.#inflightEntries -= count;
      try {
        // After a failed commit nothing later is accounted for: the store refuses (or the member
        // ignores) what followed it, and the member is out of the walk already.
        if (this.#status === "failed") return;
        if ("error" in outcome) throw outcome.error;
        const late = outcome.result.late ?? 0;
        this.inserted += outcome.result.inserted;
        this.late += late;
        // This commit's `state` was built before the ones in flight ahead of it ended: the totals
        // are those of every commit accounted for so far, plus this one's.
        this.#state = {
          ...state,
          totals: {
            entries: this.#state.totals.entries + outcome.result.inserted,
            late: this.#state.totals.late + late,
            runs: state.totals.runs,
          },
        };
        this.report.committed({
          inserted: outcome.result.inserted,
          late,
          ...(position !== undefined ? { position: formatTimestampExact(position) } : {}),
          ...(final !== undefined && state.highWater !== undefined ? { highWater: state.highWater } : {}),
        });
        if (pinned) crashPoint("sync.window-pinned");
        // A commit ended: the member makes progress, its stall time starts again.
        this.#watch(true);
      } catch (error) {
        this.#fail(error);
      } finally {
        this.#pump();
        this.changed();
      }
    })();
  }

  #fail(error: unknown): void {
    if (this.#status === "failed") return;
    const wasAttached = this.attached;
    this.#status = "failed";
    this.error = error;
    this.#drop();
    this.report.failed(error);
    if (wasAttached) {
      this.detached = "failed";
      this.report.detached("failed");
    }
    this.changed();
  }

  /** Leaves the walk without failing: the walk or the round ended it (a failed walk, a failed prepare). */
  stop(error: unknown): void {
    if (!this.attached) return;
    this.#status = "failed";
    this.error = error;
    this.#drop();
    this.report.failed(error);
    this.changed();
  }

  /** Detaches a member whose prepare failed before the walk began: as a failed commit does. */
  fail(error: unknown): void {
    this.#fail(error);
  }

  #detach(reason: "lagging"): void {
    this.#status = reason;
    this.detached = reason;
    this.#drop();
    this.report.detached(reason);
    this.changed();
  }

  /** Drops the queue: nothing of it was committed, and no commit will carry its cursor. */
  #drop(): void {
    this.#pending = [];
    this.#pendingEntries = 0;
    this.#flushWanted = false;
    clearTimeout(this.#stall);
    this.#stall = undefined;
  }
}

/** A batch in a member's queue; the pinned window is one of no entries. */
interface Queued {
  entries: readonly ExportEntry[];
  cursor: ExportCursor;
  pin?: true;
}

function minTs(a: Ts, b: Ts): Ts {
  return compareTs(a, b) <= 0 ? a : b;
}
