/**
 * `report --input`: the entries of an export file, read by the one export-file reader
 * (packages/client/src/export/exportFile.ts), handed to the report one at a time.
 */
import { ExportFile, InputError } from "@clarifai-audit/client/internal/export/exportFile.js";
import type { ReportEntry } from "./entry.js";

export { InputError };

/** What was read. */
export interface InputSummary {
  format: "jsonl" | "json";
  gzip: boolean;
  entries: number;
}

/**
 * Streams the entries of an export file to `onEntry`, in file order.
 * @throws InputError when the file cannot be read or is not an export (naming the line).
 */
export async function readExportFile(
  path: string,
  onEntry: (entry: ReportEntry) => void,
): Promise<InputSummary> {
  const file = new ExportFile(path, { reader: "report" });
  for await (const batch of file) for (const record of batch) onEntry(record.entry);
  return { format: file.format ?? "jsonl", gzip: file.gzip, entries: file.entries };
}
