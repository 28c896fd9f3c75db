/** What the engine reports while and after it walks a window (its own module: the errors carry it too). */

import type { ProgressEstimate } from "./estimate.js";

/** Running counters, reported after each page. */
export interface ExportProgress {
  entries: number;
  pages: number;
  retries: number;
  shiftedPages: number;
  /** RPCs sent so far (probes, pages, retries). */
  requests: number;
  /**
   * How far the walk has come and how many entries the window likely holds, estimated from the
   * data's ends the probes found (estimate.ts); absent when they found none to go by (a resumed walk,
   * an empty window, all entries at one instant) or before the first entry.
   */
  estimate?: ProgressEstimate;
}

/** The outcome of a walk (also carried by {@link ExportInterruptedError}). */
export interface ExportSummary extends ExportProgress {
  /** Entries dropped because a page repeated them after the log grew. */
  repeated: number;
  /** Entries older than the walk's position (repeats or late arrivals behind it), dropped. */
  stale: number;
  slices: number;
  splits: number;
  /**
   * Fewest pages allowed in flight during this run: below the requested concurrency when pages
   * needed retries (throttling or server errors) and the engine backed off.
   */
  lowestConcurrency: number;
  durationMs: number;
  resumed: boolean;
  window?: { from: string; to: string };
}
