/**
 * A Parquet lake (written by `sync --lake DIR`) as a source of exported entries: the same records the
 * export-file reader yields (packages/client/src/export/exportFile.ts), so whatever reads exports reads a lake too
 * (`report --lake`, `rules test --lake`). The lake is opened read-only (packages/cli/src/sync/lake/reader.ts: the
 * state's committed file list, no lock) and the `entry` column (each entry's REST JSON line) is
 * fetched chunk by chunk in time order, so memory holds one DuckDB chunk at a time. Loading this
 * module is what brings DuckDB in.
 */
import { NotAnEntryError } from "@clarifai-audit/client/internal/domain/exportedEntry.js";
import { InputError } from "@clarifai-audit/client/internal/export/errors.js";
import { type ExportRecord, exportRecord } from "@clarifai-audit/client/internal/export/exportFile.js";
import { SyncUsageError } from "../store.js";
import { openLakeReader } from "./reader.js";

/**
 * The entries of the lake in `dir`, oldest first, a batch per DuckDB chunk; a record's `line` is its
 * row number. Throws {@link InputError} (one line naming the lake) for a DIR that is not a lake or
 * a row that is not an entry.
 */
export async function* readLakeRecords(dir: string): AsyncGenerator<ExportRecord[]> {
  let reader: Awaited<ReturnType<typeof openLakeReader>>;
  try {
    reader = await openLakeReader(dir);
  } catch (error) {
    if (error instanceof SyncUsageError)
      throw new InputError(error.input === "lake" ? error.problem : error.message, "lake");
    throw error;
  }
  let count = 0;
  try {
    // req_id breaks ties between entries of the same nanosecond, so two runs read the same order.
    const result = await reader.stream('SELECT "entry" FROM audit_log ORDER BY timestamp_text, req_id');
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const column = chunk.getColumnVector(0);
      const batch: ExportRecord[] = [];
      for (let i = 0; i < chunk.rowCount; i++) {
        const line = column.getItem(i);
        count++;
        if (typeof line !== "string")
          throw new InputError(`${dir}: row ${count} has no entry; not a lake of audit-log entries`, "lake");
        try {
          batch.push(exportRecord(count, line));
        } catch (error) {
          if (error instanceof SyntaxError || error instanceof NotAnEntryError)
            throw new InputError(`${dir}: row ${count}: not an audit-log entry (${error.message})`, "lake");
          throw error;
        }
      }
      yield batch;
    }
  } catch (error) {
    if (error instanceof SyncUsageError) throw new InputError(`${dir}: ${error.message}`, "lake");
    throw error;
  } finally {
    reader.close();
  }
}
