/**
 * What a run of `sync` is given and what it reports, apart from the run itself: `runSync`
 * (sync.ts) and the collector's `runFanout` (fanout.ts) are one lifecycle, and both speak these.
 */
import type { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import type { AuditLogSearchQuery } from "@clarifai-audit/client/internal/client/query.js";
import { parseTs, type Ts } from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { ExportProgress } from "@clarifai-audit/client/internal/export/engine.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { resumeIdentity } from "@clarifai-audit/client/internal/export/identity.js";
import type { ExportCursor } from "@clarifai-audit/client/internal/export/sink.js";
import type { SyncIdentity, SyncState, SyncStore } from "./store.js";

/** Options of `runSync` (sync.ts). */
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

/** The identity a store keeps for `client` and `query`. */
export function syncIdentity(client: AuditLogClient, query: AuditLogSearchQuery = {}): SyncIdentity {
  return resumeIdentity(client, { query: { ...query } });
}

/** Milliseconds as nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/** A timestamp of the store's state; a damaged one is one line, not a TypeError later. */
export function mustTs(text: string, what: string): Ts {
  const ts = parseTs(text);
  if (ts === undefined) throw new Error(`the store's state is damaged: ${what} is not a timestamp (${text})`);
  return ts;
}

/**
 * The oldest entry a walk resumed from `cursor` may hand over: the engine drops what is older than
 * the boundary of the slice it resumes (or starts at the next slice); undefined when the cursor
 * walked the whole window.
 */
export function resumePoint(cursor: ExportCursor | undefined): string | undefined {
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
