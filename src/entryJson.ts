/**
 * One audit-log entry as one line of JSON, in the REST form Clarifai prints (see protoJson.ts).
 * This is the exporter's hot path; the reference is `JSON.stringify(auditLogEntryToJson(entry))`.
 */
import type { AuditLogEntry } from "../generated/proto/clarifai/api/resources.js";
import { auditLogEntryToJson } from "./protoJson.js";

export function entryToJsonLine(entry: AuditLogEntry): string {
  return JSON.stringify(auditLogEntryToJson(entry));
}
