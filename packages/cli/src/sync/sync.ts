/**
 * `sync`: keeps a {@link SyncStore} (the Parquet lake, PostgreSQL) a complete copy of a log.
 *
 * A run opens the store, then either resumes the run a crash interrupted (its cursor, pinned window
 * included, is in the store's state) or pins a new window `[max(origin, highWater − reconcile),
 * now − settle]` and walks it with the export engine. The engine's batches and their cursor go to
 * `store.commit` together, so a SIGKILL at any instant resumes where the last commit ended; the
 * trailing `reconcile` part re-reads what an earlier run already stored, and the store skips those
 * entries by key, so late arrivals are added and nothing is added twice. When the window has been
 * walked, its end becomes the new high-water mark.
 */
import type { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import type { AuditLogSearchQuery } from "@clarifai-audit/client/internal/client/query.js";
import {
  compareTs,
  formatTs,
  nowTs,
  nsToTs,
  parseTs,
  type Ts,
  tsToNs,
} from "@clarifai-audit/client/internal/domain/timestamps.js";
import { type ExportProgress, exportToSink } from "@clarifai-audit/client/internal/export/engine.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { resumeIdentity } from "@clarifai-audit/client/internal/export/identity.js";
import type {
  ExportBatch,
  ExportCursor,
  ExportEntry,
  ExportSink,
} from "@clarifai-audit/client/internal/export/sink.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { SyncIdentity, SyncState, SyncStore } from "./store.js";

/** Options of {@link runSync}. */
export interface SyncOptions {
  /** The client whose log is synced. */
  client: AuditLogClient;
  store: SyncStore;
  /** Filters of the synced query (part of the store's identity). */
  query?: AuditLogSearchQuery;
  /** Oldest entry to sync on the first run (default: the oldest the server holds). */
  origin?: Ts;
  /** Entries younger than this may still be landing: a window ends at now − settle. */
  settleMs: number;
  /** How far behind the high-water mark each run re-reads for late arrivals. */
  reconcileMs: number;
  /**
   * Commit once this many entries are buffered (default: the store's `commitEntries`, else 20 000),
   * besides the engine's interval.
   */
  commitEntries?: number;
  /** Least time between commits (default 5 s): fewer, larger files. */
  commitIntervalMs?: number;
  concurrency?: number;
  perPage?: number;
  signal?: AbortSignal;
  onWindow?: (window: { from: Ts; to: Ts; resumed: boolean }) => void;
  /** After each page: the engine's running figures, with its estimate of the window's size. */
  onProgress?: (progress: ExportProgress) => void;
  now?: () => number;
}

/** What one run did. */
export interface SyncRunSummary {
  /** Entries stored by this run (new to the store). */
  inserted: number;
  /** Of those, late arrivals: dated at or before the high-water mark the run started from. */
  late: number;
  /** Entries the walk handed over (new or already stored). */
  walked: number;
  requests: number;
  durationMs: number;
  resumed: boolean;
  /** The walked window; absent when there was nothing to walk. */
  window?: { from: string; to: string };
  /** The entries the destination holds after the run, counted there (when the store can). */
  held?: number;
  /** The store's high-water mark after the run. */
  highWater?: string;
  totals: SyncState["totals"];
}

function ms(ns: bigint): bigint {
  return ns * 1_000_000n;
}

function minTs(a: Ts, b: Ts): Ts {
  return compareTs(a, b) <= 0 ? a : b;
}

function mustTs(text: string, what: string): Ts {
  const ts = parseTs(text);
  if (ts === undefined) throw new Error(`the store's state is damaged: ${what} is not a timestamp (${text})`);
  return ts;
}

/** The identity a store keeps for `client` and `query`. */
export function syncIdentity(client: AuditLogClient, query: AuditLogSearchQuery = {}): SyncIdentity {
  return resumeIdentity(client, { query: { ...query } });
}

/**
 * Adapts the engine's sink contract to {@link SyncStore.commit}: batches are buffered and committed
 * with the cursor of the last one (at the engine's flush, or when the buffer is full), and the end of
 * the window commits the new high-water mark.
 */
class StoreSink implements ExportSink {
  #buffer: ExportEntry[] = [];
  #cursor: ExportCursor | undefined;
  #dirty = false;
  /** Commits running in the background, oldest first (at most the store's `commitsInFlight`). */
  #inflight: Promise<void>[] = [];
  /** Newest timestamp committed in this run: what is older is never offered again by this run. */
  #position: Ts | undefined;
  inserted = 0;
  late = 0;
  walked = 0;

  constructor(
    private state: SyncState,
    private readonly store: SyncStore,
    private readonly reconcileNs: bigint,
    private readonly commitEntries: number,
    private readonly commitsInFlight: number,
    private readonly startedAt: string,
    private readonly now: () => number,
  ) {}

  get current(): SyncState {
    return this.state;
  }

  async open(): Promise<ExportCursor | undefined> {
    return this.state.run?.cursor;
  }

  async start(cursor: ExportCursor): Promise<void> {
    // The pinned window is stored before the first page: a crash resumes this window, not a new one.
    this.#cursor = cursor;
    this.#dirty = true;
    await this.#commit();
    crashPoint("sync.window-pinned");
  }

  async write(batch: ExportBatch): Promise<void> {
    for (const e of batch.entries) this.#buffer.push(e);
    this.walked += batch.entries.length;
    this.#cursor = batch.cursor;
    this.#dirty = true;
    if (this.#buffer.length >= this.commitEntries) {
      // Commits run in the background while the walk goes on (the store's file writing overlaps the
      // next pages), as many at a time as the store takes: the buffer holds one more commit's worth.
      while (this.#inflight.length >= this.commitsInFlight) await this.#inflight.shift();
      const commit = this.#commit();
      commit.catch(() => undefined);
      this.#inflight.push(commit);
    }
  }

  async flush(): Promise<void> {
    await this.#settle();
    if (this.#dirty) await this.#commit();
  }

  /** Waits for every background commit to end (the store closes after); a failure fails the walk. */
  async #settle(): Promise<void> {
    const inflight = this.#inflight;
    this.#inflight = [];
    for (const result of await Promise.allSettled(inflight))
      if (result.status === "rejected") throw result.reason;
  }

  async close(outcome: { complete: boolean }): Promise<void> {
    await this.#settle();
    if (!outcome.complete) return;
    const cursor = this.#cursor ?? this.state.run?.cursor;
    if (cursor === undefined) return;
    crashPoint("sync.window-walked");
    const end = mustTs(cursor.window.to, "window.to");
    const { run: _run, ...rest } = this.state;
    await this.#commit({
      ...rest,
      highWater: cursor.window.to,
      totals: { ...this.state.totals, runs: this.state.totals.runs + 1 },
      updatedAt: new Date(this.now()).toISOString(),
      forget: formatTs(nsToTs(tsToNs(end) - this.reconcileNs)),
    });
    crashPoint("sync.run-ended");
  }

  async #commit(final?: SyncState & { forget: string }): Promise<void> {
    // Everything this commit stores is taken before its first await (a background commit runs while
    // later batches arrive).
    const entries = this.#buffer;
    this.#buffer = [];
    this.#dirty = false;
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
      const nextFrom = nsToTs(tsToNs(windowEnd) - this.reconcileNs);
      forget = formatTs(
        this.#position
          ? minTs(this.#position, nextFrom)
          : minTs(mustTs(cursor.window.from, "window.from"), nextFrom),
      );
      state = {
        ...this.state,
        run: { cursor, startedAt: this.state.run?.startedAt ?? this.startedAt },
        updatedAt: new Date(this.now()).toISOString(),
      };
    }
    const result = await this.store.commit({
      entries,
      state,
      forgetKeysBefore: forget,
      ...(this.state.highWater !== undefined ? { lateAtOrBefore: this.state.highWater } : {}),
    });
    const late = result.late ?? 0;
    this.inserted += result.inserted;
    this.late += late;
    // Commits resolve in call order, so this.state holds the totals of every commit before this
    // one, which `state` (built before they resolved) may not.
    this.state = {
      ...state,
      totals: {
        entries: this.state.totals.entries + result.inserted,
        late: this.state.totals.late + late,
        runs: state.totals.runs,
      },
    };
  }
}

/**
 * One sync run (see the module comment). The store is opened and closed here. Rejects with
 * {@link SyncInterruptedError} (an ExportInterruptedError) when `signal` stops it (after committing
 * what was walked).
 */
export async function runSync(options: SyncOptions): Promise<SyncRunSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const { store, client } = options;
  const identity = syncIdentity(client, options.query);
  const previous = await store.open(identity);
  try {
    const state: SyncState = previous ?? {
      version: 1,
      identity,
      totals: { entries: 0, late: 0, runs: 0 },
      updatedAt: new Date(now()).toISOString(),
    };
    const reconcileNs = ms(BigInt(Math.round(options.reconcileMs)));
    const resumed = state.run !== undefined;
    let from: Ts | undefined = options.origin;
    if (!resumed && state.highWater !== undefined) {
      const settled = nsToTs(tsToNs(nowTs(now())) - ms(BigInt(Math.round(options.settleMs))));
      let back = nsToTs(tsToNs(mustTs(state.highWater, "highWater")) - reconcileNs);
      if (from !== undefined && compareTs(from, back) > 0) back = from;
      // A settle longer than the reconcile window: the window still re-reads back to now − settle.
      from = minTs(back, settled);
    }
    const offeredFrom = resumed ? resumePoint(state.run?.cursor) : from && formatTs(from);
    if (offeredFrom !== undefined) await store.prepare?.(offeredFrom);
    const sink = new StoreSink(
      state,
      store,
      reconcileNs,
      options.commitEntries ?? store.commitEntries ?? 20_000,
      Math.max(1, store.commitsInFlight ?? 1),
      new Date(now()).toISOString(),
      now,
    );
    const summary = await exportToSink({
      sink,
      client,
      ...(options.query !== undefined ? { query: options.query } : {}),
      ...(from !== undefined ? { from } : {}),
      settleMs: options.settleMs,
      commitIntervalMs: options.commitIntervalMs ?? 5000,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.perPage !== undefined ? { perPage: options.perPage } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.onWindow !== undefined ? { onWindow: options.onWindow } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      now,
    }).catch((error: unknown) => {
      if (error instanceof ExportInterruptedError) throw new SyncInterruptedError(error.summary);
      throw error;
    });
    const after = sink.current;
    // Everything is committed by now: a count that fails leaves it out of the summary, not the run.
    const held = await store.count?.().catch(() => undefined);
    return {
      inserted: sink.inserted,
      late: sink.late,
      walked: sink.walked,
      requests: summary.requests,
      durationMs: performance.now() - started,
      resumed,
      ...(summary.window ? { window: summary.window } : {}),
      ...(held !== undefined ? { held } : {}),
      ...(after.highWater !== undefined ? { highWater: after.highWater } : {}),
      totals: after.totals,
    };
  } finally {
    await store.close();
    crashPoint("sync.closed");
  }
}

/**
 * The oldest entry a walk resumed from `cursor` may hand over: the engine drops what is older than
 * the boundary of the slice it resumes (or starts at the next slice); undefined when the cursor
 * walked the whole window.
 */
function resumePoint(cursor: ExportCursor | undefined): string | undefined {
  // A damaged cursor is the engine's to refuse (one line), not a TypeError here.
  if (cursor?.slice === undefined || cursor.complete) return undefined;
  if (cursor.sliceDone) return cursor.slice.to;
  return cursor.boundary ?? cursor.slice.from;
}

/**
 * A run stopped by its signal (SIGINT/SIGTERM), after committing what it walked. The message names
 * what `sync` does about it (the next run resumes the window), not export's --resume flag.
 */
export class SyncInterruptedError extends ExportInterruptedError {
  override name = "SyncInterruptedError";
  constructor(summary: ExportInterruptedError["summary"]) {
    super(summary);
    this.message = `sync interrupted after ${summary.entries} entries of its window; what was walked is stored: run the same sync again to continue (it resumes the window)`;
  }
}
