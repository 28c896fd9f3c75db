/**
 * Entries as the client returns them: every protobuf field, plus lossless conveniences.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { operationName } from "./operations.js";
import { formatTimestamp } from "./time.js";

/**
 * One audit-log entry: every field of the protobuf `AuditLogEntry` (ts-proto shape, `timestamp` as
 * exact `{ seconds, nanos }`), plus `timestampIso` (RFC 3339 UTC with every stored digit, exactly as
 * the REST API prints it) and `operationName` (e.g. `MODEL_CREATE`).
 */
export type AuditEntry = AuditLogEntry & {
  /** RFC 3339 UTC with 0, 3, 6 or 9 fractional digits, e.g. `2025-01-17T12:04:55.449860Z`; `""` if absent. */
  timestampIso: string;
  /** The `EventType` name of `operation`; digits for codes newer than this library. */
  operationName: string;
};

/**
 * Adds the conveniences to a decoded entry, in place (the decoded object is fresh and unshared, and
 * exporters handle millions of them).
 */
export function toAuditEntry(entry: AuditLogEntry): AuditEntry {
  const e = entry as AuditEntry;
  e.timestampIso = entry.timestamp === undefined ? "" : formatTimestamp(entry.timestamp);
  e.operationName = operationName(entry.operation);
  return e;
}
