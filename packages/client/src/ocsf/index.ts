/**
 * Clarifai audit-log entries as OCSF 1.8 events (docs/ocsf.md): the most specific class and activity
 * per operation, the actor, source IP, targets and outcome in OCSF's objects, and the entry itself in
 * `raw_data`.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { mappingOf } from "./classes.js";
import { viewOfEntry, viewOfJson } from "./entryView.js";
import { buildEvent, type OcsfContext, type OcsfEvent } from "./event.js";

export type { OcsfContext, OcsfEvent } from "./event.js";
export { OCSF_VERSION, PRODUCT } from "./event.js";

/** The OCSF 1.8 event of one entry (most specific class/activity; raw_data = the entry's JSON line). */
export function toOcsfEvent(entry: AuditLogEntry, rawJson: string, context?: OcsfContext): OcsfEvent {
  return buildEvent(viewOfEntry(entry), rawJson, context);
}

/** {@link toOcsfEvent} as one JSON text (no newline). */
export function ocsfEventJson(entry: AuditLogEntry, rawJson: string, context?: OcsfContext): string {
  return JSON.stringify(toOcsfEvent(entry, rawJson, context));
}

/**
 * The same event from the entry's JSON line alone (`ExportEntry.json()`), without decoding the
 * protobuf: the exporters' path, where the line is at hand. Equal to {@link ocsfEventJson} of the
 * line's entry.
 */
export function ocsfEventJsonOfLine(rawJson: string, context?: OcsfContext): string {
  return JSON.stringify(
    buildEvent(viewOfJson(JSON.parse(rawJson) as Record<string, unknown>), rawJson, context),
  );
}

/** The class of an EventType (for partitioning by class: Security Lake wants one table per class). */
export function ocsfClassOf(operation: number): { classUid: number; className: string; categoryUid: number } {
  const { classUid, className, categoryUid } = mappingOf(operation).cls;
  return { classUid, className, categoryUid };
}
