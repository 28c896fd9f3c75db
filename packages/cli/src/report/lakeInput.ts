/**
 * `report --lake DIR`: every entry of a Parquet lake (read by packages/cli/src/sync/lake/records.ts, the lake as a
 * source of exported entries), handed to the report one at a time. Loaded only for `report --lake`:
 * it is what brings DuckDB in.
 */
import { readLakeRecords } from "../sync/lake/records.js";
import type { ReportEntry } from "./entry.js";

/**
 * Feeds every entry of the lake in `dir` to `onEntry`, oldest first; returns how many. Throws
 * InputError (one line naming the lake) for a DIR that is not a lake or a row that is not an entry.
 */
export async function readLake(dir: string, onEntry: (entry: ReportEntry) => void): Promise<number> {
  let count = 0;
  for await (const batch of readLakeRecords(dir)) {
    for (const record of batch) onEntry(record.entry);
    count += batch.length;
  }
  return count;
}
