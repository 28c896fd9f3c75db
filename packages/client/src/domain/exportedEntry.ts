/**
 * One audit-log entry as the readers of exports see it (`report`, `rules test`, the lake): the few
 * fields they count, show and check, taken from an entry's REST JSON (an export line, a lake row, or
 * the engine's `ExportEntry.json()`), with the timestamp kept exactly as written so tables never
 * lose precision. The one definition of "an audit-log entry" for every reader, so a file of other
 * JSON objects is refused everywhere alike.
 */
import { ClarifaiAuditError } from "./errors.js";
import { OPERATIONS, operationName } from "./operations.js";
import type { Timestamp } from "./time.js";
import { parseTs } from "./timestamps.js";

/** The fields of an exported entry that readers of exports (report, rules) use. */
export interface ExportedEntry {
  /** RFC 3339, exactly as the export wrote it. */
  timestamp: string;
  /** The same instant, exact. */
  ts: Timestamp;
  userId: string;
  /** The `EventType` code; -1 for a name these protos do not know. */
  operation: number;
  operationName: string;
  description: string;
  details: readonly string[];
  success: boolean;
  sourceIp: string;
  reqId: string;
  /** `kind:id` or `kind:app/id`, one per target. */
  targets: readonly string[];
}

/** Why a JSON value is not an audit-log entry. */
export class NotAnEntryError extends ClarifaiAuditError {
  override name = "NotAnEntryError";
}

// Both spellings: proto3 JSON prints the original (snake_case) names, protobuf's JSON parsers and
// ts-proto's toJSON use lowerCamelCase.
const KNOWN_FIELDS = new Set([
  "timestamp",
  "user",
  "operation",
  "description",
  "targets",
  "details",
  "success",
  "req_id",
  "reqId",
  "source_ip",
  "sourceIp",
]);
const FIELD_LIST = "timestamp, user, operation, description, targets, details, success, req_id, source_ip";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown, field: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new NotAnEntryError(`"${field}" is not a string`);
  return value;
}

/** `kind:id`, or `kind:app/id` when the target names its app (as the CSV export writes targets). */
function targetText(target: unknown): string {
  if (!isObject(target)) throw new NotAnEntryError('"targets" holds a value that is not an object');
  for (const [kind, value] of Object.entries(target)) {
    if (!isObject(value)) continue;
    const id = typeof value.id === "string" ? value.id : "";
    const app = value.app_id ?? value.appId;
    return `${kind}:${typeof app === "string" && app !== "" ? `${app}/` : ""}${id}`;
  }
  return "";
}

function operationOf(value: unknown): { code: number; name: string } {
  if (value === undefined || value === null) return { code: 0, name: operationName(0) };
  if (typeof value === "number" && Number.isInteger(value))
    return { code: value, name: operationName(value) };
  if (typeof value === "string") {
    const code = OPERATIONS.get(value);
    return code !== undefined ? { code, name: value } : { code: -1, name: value };
  }
  throw new NotAnEntryError('"operation" is neither an EventType code nor a name');
}

/**
 * Reads an entry from its parsed JSON.
 * @throws NotAnEntryError when `value` is not an audit-log entry (not an object, an unknown field,
 * no timestamp, a field of the wrong type).
 */
export function exportedEntryFromJson(value: unknown): ExportedEntry {
  if (!isObject(value)) throw new NotAnEntryError("not a JSON object");
  for (const key of Object.keys(value)) {
    if (!KNOWN_FIELDS.has(key)) {
      throw new NotAnEntryError(`unknown field "${key}" (an audit-log entry has ${FIELD_LIST})`);
    }
  }
  if (typeof value.timestamp !== "string") {
    throw new NotAnEntryError('no "timestamp" (an RFC 3339 string in every exported entry)');
  }
  const ts = parseTs(value.timestamp);
  if (ts === undefined)
    throw new NotAnEntryError(`"timestamp" ${JSON.stringify(value.timestamp)} is not RFC 3339`);
  const user = value.user;
  if (user !== undefined && !isObject(user)) throw new NotAnEntryError('"user" is not an object');
  const details = value.details ?? [];
  if (!Array.isArray(details) || details.some((d) => typeof d !== "string")) {
    throw new NotAnEntryError('"details" is not an array of strings');
  }
  const targets = value.targets ?? [];
  if (!Array.isArray(targets)) throw new NotAnEntryError('"targets" is not an array');
  const success = value.success ?? false;
  if (typeof success !== "boolean") throw new NotAnEntryError('"success" is not true or false');
  const op = operationOf(value.operation);
  return {
    timestamp: value.timestamp,
    ts,
    userId: str(user?.id, "user.id"),
    operation: op.code,
    operationName: op.name,
    description: str(value.description, "description"),
    details: details as string[],
    success,
    sourceIp: str(value.source_ip ?? value.sourceIp, "source_ip"),
    reqId: str(value.req_id ?? value.reqId, "req_id"),
    targets: targets.map(targetText),
  };
}
