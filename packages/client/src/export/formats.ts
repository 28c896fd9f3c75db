/**
 * The output formats shared by `export`, `search` and `tail`: JSON Lines, CSV, one JSON array, and
 * OCSF 1.8 events as JSON lines (docs/ocsf.md).
 * Each is split into header / entries / footer text so that a writer can stream, commit and resume
 * at any page boundary.
 */
import { stringify } from "csv-stringify/sync";
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { entriesToJsonl, entryToJsonLine } from "../codec/index.js";
import { lineKey } from "../domain/entryKey.js";
import { operationName } from "../domain/operations.js";
import { targetToText } from "../domain/targets.js";
import { formatTs } from "../domain/timestamps.js";
import { ocsfEventJson, ocsfEventJsonOfLine } from "../ocsf/index.js";
import type { ExportEntry } from "./sink.js";

/** Machine-readable output formats (`ocsf`: one OCSF event per line; no header or footer, as jsonl). */
export type DataFormat = "jsonl" | "csv" | "json" | "ocsf";

/** The fixed CSV columns, in order. */
export const CSV_COLUMNS = [
  "timestamp",
  "operation",
  "operation_name",
  "user_id",
  "description",
  "targets",
  "details",
  "success",
  "req_id",
  "source_ip",
] as const;

/** One entry as the CSV record of {@link CSV_COLUMNS}. */
export function entryToCsvRecord(entry: AuditLogEntry): string[] {
  return [
    entry.timestamp ? formatTs(entry.timestamp) : "",
    String(entry.operation),
    operationName(entry.operation),
    entry.user?.id ?? "",
    entry.description,
    entry.targets.map(targetToText).join(";"),
    JSON.stringify(entry.details),
    entry.success ? "true" : "false",
    entry.reqId,
    entry.sourceIp,
  ];
}

/** Text that opens a file of `format`. */
export function formatHeader(format: DataFormat): string {
  if (format === "csv") return stringify([[...CSV_COLUMNS]]);
  if (format === "json") return "[";
  return "";
}

/**
 * Text for `entries`, given how many entries were written before them (JSON needs it for commas).
 * `lines` may hold the entries' JSON lines when the caller already has them.
 */
export function formatEntries(
  format: DataFormat,
  entries: readonly AuditLogEntry[],
  writtenBefore: number,
  lines?: readonly string[],
): string {
  if (entries.length === 0) return "";
  if (format === "csv") return stringify(entries.map(entryToCsvRecord));
  // One buffer for the whole page (packages/client/src/codec/entryPrinter.ts): same text as joining entryToJsonLine.
  if (format === "jsonl" && lines === undefined) return entriesToJsonl(entries);
  const json = lines ?? entries.map(entryToJsonLine);
  if (format === "jsonl") return `${json.join("\n")}\n`;
  if (format === "ocsf") {
    let text = "";
    for (let i = 0; i < entries.length; i++) {
      const line = json[i] as string;
      text += `${ocsfEventJson(entries[i] as AuditLogEntry, line, { entryId: lineKey(line) })}\n`;
    }
    return text;
  }
  return `${writtenBefore === 0 ? "\n" : ",\n"}${json.join(",\n")}`;
}

/** Text that closes a file of `format` holding `total` entries. */
export function formatFooter(format: DataFormat, total: number): string {
  if (format === "json") return total > 0 ? "\n]\n" : "]\n";
  return "";
}

/**
 * The OCSF lines of engine entries, from their JSON lines (no protobuf decode: the exporter's path),
 * each event's `metadata.uid` the entry's key.
 */
export function ocsfLines(entries: readonly ExportEntry[]): string {
  let text = "";
  for (const e of entries) text += `${ocsfEventJsonOfLine(e.json(), { entryId: e.key() })}\n`;
  return text;
}
