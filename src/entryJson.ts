/**
 * One audit-log entry as one line of JSON, in the REST form Clarifai prints (see protoJson.ts).
 * This is the exporter's hot path; the reference is `JSON.stringify(auditLogEntryToJson(entry))`.
 * The entry is encoded once and printed by the generated transcoder (src/fast/jsonTranscoder.ts),
 * which is proven byte-identical to the reference by test/fast/jsonTranscoder.test.ts.
 */
import { AuditLogEntry } from "../generated/proto/clarifai/api/resources.js";
import { auditLogEntryBytesToJson } from "./fast/jsonTranscoder.js";

/** One entry as one JSON line (no trailing newline), byte-identical to the reference printer. */
export function entryToJsonLine(entry: AuditLogEntry): string {
  return auditLogEntryBytesToJson(AuditLogEntry.encode(entry).finish());
}
