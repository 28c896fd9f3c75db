/**
 * The report as an export-engine sink (packages/client/src/export/sink.ts): it keeps nothing but the aggregation,
 * so a live window of any size is reported in bounded memory. It never resumes: a report is built
 * in one run, and an interrupted one is simply run again.
 */

import { exportedEntryFromJson } from "@clarifai-audit/client/internal/domain/exportedEntry.js";
import type { ExportBatch, ExportCursor, ExportSink } from "@clarifai-audit/client/internal/export/sink.js";
import type { ReportAggregator } from "./aggregate.js";

/** An {@link ExportSink} that counts entries into a {@link ReportAggregator}. */
export class ReportSink implements ExportSink {
  /** The pinned window, once the first batch has arrived. */
  window: ExportCursor["window"] | undefined;
  constructor(readonly aggregator: ReportAggregator) {}
  async open(): Promise<ExportCursor | undefined> {
    return undefined;
  }
  async write(batch: ExportBatch): Promise<void> {
    this.window ??= batch.cursor.window;
    // The entry's REST JSON line: the same reading as an exported file's, so both give one report.
    for (const entry of batch.entries) this.aggregator.add(exportedEntryFromJson(JSON.parse(entry.json())));
  }
  async close(): Promise<void> {}
}
