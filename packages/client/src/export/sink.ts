/**
 * The export engine's sink contract (public: `clarifai-audit/export`).
 *
 * The engine pins a window, walks it oldest first (ordered, concurrent, deduped at page
 * boundaries) and hands the entries to a sink in batches, each with the cursor that follows it. A
 * sink decides where data and cursor go: the file sink keeps `FILE.partial` + `FILE.manifest.json`;
 * the lake and PostgreSQL sinks store the cursor in the same commit as their rows. Exactly once
 * holds when the sink makes a batch's entries and its cursor durable together (or neither), and
 * returns the last durable cursor from `open`.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import type { Timestamp } from "../domain/time.js";

/** Where a walk stands: plain JSON, opaque to sinks (store it as is, give it back to resume). */
export interface ExportCursor {
  version: 1;
  /** The pinned window, RFC 3339 with up to 9 fractional digits. */
  window: { from: string; to: string; pinnedAt: string };
  /** The slice being walked when the batch ended. */
  slice: { from: string; to: string; last: boolean };
  /** Next page of that slice, the newest timestamp emitted in it, and the keys emitted at that timestamp. */
  page: number;
  boundary?: string;
  boundaryKeys: string[];
  /** The slice above was walked to its end. */
  sliceDone: boolean;
  /** The whole window was walked: resuming from this cursor fetches nothing. */
  complete: boolean;
  /** Running totals of the walk up to this cursor, so a resumed run reports the whole export. */
  stats?: ExportCursorStats;
}

/** Totals carried by a cursor (see {@link ExportCursor.stats}). */
export interface ExportCursorStats {
  entries: number;
  pages: number;
  /** RPC attempts beyond the first. */
  retries: number;
  /** Pages that repeated entries already handed over (the log grew under the walk). */
  shiftedPages: number;
  repeated: number;
  stale: number;
  /** RPCs sent (probes, pages and their retries). */
  requests?: number;
}

/** An entry as a byte range of the reply that carried it (for encoders that work on bytes). */
export interface ExportEntryRange {
  readonly source: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** One entry as the engine hands it over: exact timestamp, its protobuf bytes, and lazy views. */
export interface ExportEntry {
  /** Exact (nanoseconds); the epoch when the entry carries none. */
  readonly timestamp: Timestamp;
  /** The serialized `AuditLogEntry`, exactly as the server sent it. */
  readonly bytes: Uint8Array;
  /** The entry's REST JSON line (proto3 JSON, no trailing newline); computed once. */
  json(): string;
  /** The dedupe key the engine uses (packages/client/src/domain/entryKey.ts); computed once. */
  key(): string;
  /** The decoded entry (ts-proto shape). */
  decode(): AuditLogEntry;
}

/** A run of consecutive entries in window order, and the cursor to store with them. */
export interface ExportBatch {
  readonly entries: readonly ExportEntry[];
  readonly cursor: ExportCursor;
  /**
   * The same entries as byte ranges of their replies, when the engine walked raw replies: lets a
   * byte-level encoder (the file sink's JSONL path) skip the per-entry views.
   */
  readonly raw?: readonly ExportEntryRange[];
}

/** What the engine tells a sink when it opens it. */
export interface SinkOpenInfo {
  /** Canonical identity of the walk (endpoint, user id, filters, page size): store it, refuse a different one. */
  identity: Record<string, unknown>;
}

/**
 * A destination. The engine calls `open` once before any request, then `write` for each batch in
 * order (awaiting each: that is the backpressure), then `close`.
 */
export interface ExportSink {
  /** The cursor to resume from (the last durable one), or undefined to start a new walk. */
  open(info: SinkOpenInfo): Promise<ExportCursor | undefined>;
  /**
   * Called once the window of a new walk is pinned (after the probes, before the first page), with
   * the walk's starting cursor: a sink that stores the cursor on its own can record it now, so a
   * crash before the first batch still resumes the same window. Not called when resuming.
   */
  start?(cursor: ExportCursor): Promise<void>;
  /** Takes a batch. Before it resolves, the batch's entries and cursor are durable together, or buffered to be made durable together later. */
  write(batch: ExportBatch): Promise<void>;
  /** Makes every batch written so far durable (called at the engine's commit interval and at the end). */
  flush?(): Promise<void>;
  /** Ends the run: `complete` when the window was walked to its end. */
  close(outcome: { complete: boolean; error?: unknown }): Promise<void>;
}
