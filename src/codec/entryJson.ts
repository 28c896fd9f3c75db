/**
 * One audit-log entry as one line of JSON, in the REST form Clarifai prints (see protoJson.ts).
 * This is the exporter's hot path; the reference is `JSON.stringify(auditLogEntryToJson(entry))`.
 * The generated printer of src/codec/objectJson.ts reads the ts-proto object directly; it is proven
 * byte-identical to the reference by test/codec/objectJson.test.ts and falls back to it on anything
 * unusual.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { auditLogEntryObjectToJson } from "./objectJson.js";

/** One entry as one JSON line (no trailing newline), byte-identical to the reference printer. */
export function entryToJsonLine(entry: AuditLogEntry): string {
  return auditLogEntryObjectToJson(entry);
}
