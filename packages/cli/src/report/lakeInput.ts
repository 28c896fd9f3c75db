/**
 * `report --lake DIR`: every entry of a Parquet lake (read by packages/cli/src/sync/lake/records.ts, the lake as a
 * source of exported entries), handed to the report one at a time. Loaded only for `report --lake`:
 * it is what brings DuckDB in.
 */
import { readManifest } from "../sync/lake/manifest.js";
import { readLakeRecords } from "../sync/lake/records.js";
import type { ReportEntry } from "./entry.js";

/** What was read from a lake. */
export interface LakeRead {
  entries: number;
  /**
   * The lake's high-water mark when the read began: every entry dated at or before it that the
   * server held is stored (undefined before a first sync completed).
   */
  highWater?: string;
}

/**
 * Feeds every entry of the lake in `dir` to `onEntry`, oldest first. Throws InputError (one line
 * naming the lake) for a DIR that is not a lake or a row that is not an entry.
 */
export async function readLake(dir: string, onEntry: (entry: ReportEntry) => void): Promise<LakeRead> {
  // Read before the rows: the mark then never claims more than the rows read hold.
  const highWater = (await readManifest(dir).catch(() => undefined))?.state.highWater;
  let count = 0;
  for await (const batch of readLakeRecords(dir)) {
    for (const record of batch) onEntry(record.entry);
    count += batch.length;
  }
  return { entries: count, ...(highWater !== undefined ? { highWater } : {}) };
}
