/**
 * Reads a Parquet lake (written by `sync --to DIR`) as a stream of entries for the report: the lake
 * is opened read-only through src/sync/lake/reader.ts (the state's committed file list, no lock), and
 * the `entry` column (each entry's REST JSON line) is fetched chunk by chunk in time order, so memory
 * holds one DuckDB chunk at a time whatever the lake's size. Loaded only for `report --lake`: it is
 * what brings DuckDB in.
 */

import { InputError } from "../export/errors.js";
import { openLakeReader } from "../sync/lake/reader.js";
import { SyncUsageError } from "../sync/store.js";
import { NotAnEntryError, type ReportEntry, reportEntryFromJson } from "./entry.js";

/**
 * Feeds every entry of the lake in `dir` to `onEntry`, oldest first; returns how many. Throws
 * {@link InputError} (one line naming the lake) for a DIR that is not a lake or a row that is not an entry.
 */
export async function readLake(dir: string, onEntry: (entry: ReportEntry) => void): Promise<number> {
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
      for (let i = 0; i < chunk.rowCount; i++) {
        const line = column.getItem(i);
        count++;
        if (typeof line !== "string")
          throw new InputError(`${dir}: row ${count} has no entry; not a lake of audit-log entries`, "lake");
        let value: unknown;
        try {
          value = JSON.parse(line);
          onEntry(reportEntryFromJson(value));
        } catch (error) {
          if (error instanceof SyntaxError || error instanceof NotAnEntryError)
            throw new InputError(`${dir}: row ${count}: not an audit-log entry (${error.message})`, "lake");
          throw error;
        }
      }
    }
  } catch (error) {
    if (error instanceof SyncUsageError) throw new InputError(`${dir}: ${error.message}`, "lake");
    throw error;
  } finally {
    reader.close();
  }
  return count;
}
