/**
 * `clarifai-audit/export`: the export engine as a library. {@link exportToSink} pins a window of a
 * query, walks it oldest first (ordered, concurrent, deduplicated at page boundaries) and hands the
 * entries to an {@link ExportSink} in batches, each with the {@link ExportCursor} that follows it; a
 * sink that stores each batch with its cursor, and returns the last stored cursor from `open`, gets
 * every entry of the window exactly once across crashes and restarts. {@link FileSink} is the sink
 * behind `clarifai-audit export` (`FILE.partial` + `FILE.manifest.json`); {@link StreamSink} writes the
 * same bytes to a stream (`export --out -`), without resuming. With `sign` (keys read by
 * {@link readSigningKey}), the file sink writes a signed digest per commit in `FILE.digests/`. See
 * docs/library.md (the export engine).
 *
 * ```ts
 * import { AuditLogClient } from "clarifai-audit";
 * import { type ExportCursor, type ExportSink, exportToSink } from "clarifai-audit/export";
 *
 * let saved: ExportCursor | undefined; // keep it where the rows go, in the same transaction
 * const sink: ExportSink = {
 *   async open() { return saved; },
 *   async write(batch) { for (const e of batch.entries) console.log(e.json()); saved = batch.cursor; },
 *   async close() {},
 * };
 * await exportToSink({ client: new AuditLogClient(), sink, from: "2025-01-01T00:00:00Z" });
 * ```
 * @packageDocumentation
 */
// A signed file sink (`FileSinkOptions.sign`): the keys it signs with (docs/verifiable-logs.md).
export { DigestChainError, type SignOptions, type Stamper } from "../digest/chain.js";
export { readSigningKey, type SigningKey, SigningKeyError } from "../digest/keys.js";
export {
  type ExportProgress,
  type ExportSummary,
  type ExportToSinkOptions,
  exportToSink,
} from "./engine.js";
export { ExportInterruptedError, ExportUsageError, InputError } from "./errors.js";
export { exportEntryFromBytes, exportEntryFromMessage, exportEntryFromRaw } from "./exportEntry.js";
export type { DataFormat } from "./formats.js";
export type {
  ExportBatch,
  ExportCursor,
  ExportCursorStats,
  ExportEntry,
  ExportEntryRange,
  ExportSink,
  SinkOpenInfo,
} from "./sink.js";
export { createFileSink, FileSink, type FileSinkOptions, type FileSinkResult } from "./sinks/fileSink.js";
export { StreamClosedError, StreamSink, type StreamSinkOptions } from "./sinks/streamSink.js";
export type { FetchedPage, FetchPage, PageRequest } from "./sliceWalk.js";
