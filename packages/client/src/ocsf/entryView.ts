/**
 * The fields of an entry the OCSF mapping reads, taken either from a decoded `AuditLogEntry` or from
 * the entry's REST JSON line (the exporters' fast path: the line is at hand, decoding is not), so one
 * mapping serves both and tests can hold the two equal.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import {
  jsonTargetKey,
  TARGET_KIND_JSON_NAMES,
  TARGET_KINDS,
  type TargetKind,
  targetKey,
} from "../domain/targets.js";
import { formatTimestamp, parseTimestamp } from "../domain/time.js";

/** One target: its kind and the ids that place it. */
export interface TargetView {
  kind: TargetKind;
  id: string;
  name: string;
  appId: string;
  userId: string;
  /** The module, workflow or compute cluster of a version or nodepool; `""` otherwise. */
  parentId: string;
}

/** The user who performed the operation. */
export interface UserView {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
}

/** What the mapping reads of an entry. */
export interface EntryView {
  /** RFC 3339 UTC exactly as the API prints it (0, 3, 6 or 9 fractional digits); `""` when absent. */
  timestampIso: string;
  /** Milliseconds since the epoch, rounded down (0 when the entry has no time). */
  timeMs: number;
  operation: number;
  user: UserView | undefined;
  description: string;
  targets: TargetView[];
  details: string[];
  success: boolean;
  reqId: string;
  sourceIp: string;
}

function msOf(seconds: number, nanos: number): number {
  return seconds * 1000 + Math.floor(nanos / 1_000_000);
}

/** The view of a decoded entry. */
export function viewOfEntry(entry: AuditLogEntry): EntryView {
  const ts = entry.timestamp;
  const targets: TargetView[] = [];
  for (const t of entry.targets) {
    const key = targetKey(t);
    if (key === undefined) continue;
    const kind = TARGET_KINDS[key.kind] as TargetKind;
    const name = (t[kind] as { name?: unknown }).name;
    targets.push({
      kind,
      id: key.id,
      name: typeof name === "string" ? name : "",
      appId: key.appId,
      userId: key.userId,
      parentId: key.parentId,
    });
  }
  const u = entry.user;
  return {
    timestampIso: ts === undefined ? "" : formatTimestamp(ts),
    timeMs: ts === undefined ? 0 : msOf(ts.seconds, ts.nanos),
    operation: entry.operation,
    user:
      u === undefined
        ? undefined
        : { id: u.id, firstName: u.firstName, lastName: u.lastName, email: u.primaryEmail },
    description: entry.description,
    targets,
    details: entry.details,
    success: entry.success,
    reqId: entry.reqId,
    sourceIp: entry.sourceIp,
  };
}

type Json = Record<string, unknown>;

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The view of an entry's REST JSON line, parsed (`JSON.parse` of `ExportEntry.json()`). */
export function viewOfJson(line: Json): EntryView {
  const iso = str(line.timestamp);
  let timeMs = 0;
  if (iso !== "") {
    const ts = parseTimestamp(iso, "timestamp");
    timeMs = msOf(ts.seconds, ts.nanos);
  }
  const targets: TargetView[] = [];
  for (const t of (line.targets as Json[] | undefined) ?? []) {
    const key = jsonTargetKey(t);
    if (key === undefined) continue;
    const kind = TARGET_KINDS[key.kind] as TargetKind;
    const name = str((t[TARGET_KIND_JSON_NAMES[kind]] as Json).name);
    targets.push({ kind, id: key.id, name, appId: key.appId, userId: key.userId, parentId: key.parentId });
  }
  const u = line.user as Json | undefined;
  return {
    timestampIso: iso,
    timeMs,
    operation: typeof line.operation === "number" ? line.operation : 0,
    user:
      u === undefined
        ? undefined
        : {
            id: str(u.id),
            firstName: str(u.first_name),
            lastName: str(u.last_name),
            email: str(u.primary_email),
          },
    description: str(line.description),
    targets,
    details: (line.details as string[] | undefined) ?? [],
    success: line.success === true,
    reqId: str(line.req_id),
    sourceIp: str(line.source_ip),
  };
}
