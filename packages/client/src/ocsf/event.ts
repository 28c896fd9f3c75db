/**
 * One entry → one OCSF 1.8 event: the classification from the operation's row of the mapping table
 * (computed once per operation), the people and targets as OCSF objects, the time in milliseconds
 * (`time`) and exactly as recorded (`time_dt`, `metadata.original_time`: nanoseconds kept), and the
 * entry itself as `raw_data`.
 */
import { operationName } from "../domain/operations.js";
import { formatTimestamp } from "../domain/time.js";
import { mappingOf, type OperationMapping } from "./classes.js";
import type { EntryView, TargetView, UserView } from "./entryView.js";
import {
  actorUserJson,
  managedEntityJson,
  type OcsfObject,
  orgGroupJson,
  resourceJson,
  sourceEndpointJson,
  targetUserJson,
  teamGroupJson,
  UNKNOWN,
} from "./objects.js";

/** What the caller knows beyond the entry. */
export interface OcsfContext {
  /** The collector's account id (`metadata.tenant_uid`, the actor's organization). */
  account?: string;
  /** `ExportEntry.key()`: the stable entry id (`metadata.uid`). */
  entryId?: string;
}

/** An OCSF event as a JSON object (class-specific attributes beside the common ones). */
export interface OcsfEvent {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  severity_id: number;
  severity: string;
  time: number;
  time_dt: string;
  status_id: number;
  status: string;
  metadata: OcsfObject;
  raw_data: string;
  [attribute: string]: unknown;
}

/** The OCSF schema version the events follow. */
export const OCSF_VERSION = "1.8.0";
/** `metadata.product`: the collector, which reads Clarifai's log. Keep equal to packages/client/package.json. */
export const PRODUCT = Object.freeze({ name: "clarifai-audit", vendor_name: "Clarifai", version: "0.1.0" });
const q = JSON.stringify;
/** The profiles every event applies: `datetime` gives `time_dt` (RFC 3339, every digit kept). */
const PROFILES = Object.freeze(["datetime"]);
const EPOCH_DT = q(formatTimestamp({ seconds: 0, nanos: 0 }));
const STATUS_SUCCESS = '"status_id":1,"status":"Success",';
const STATUS_FAILURE = '"status_id":2,"status":"Failure",';

/**
 * What an operation's events share, computed once per operation code: the mapping and the JSON text
 * of the classification attributes and of metadata's constant part (the hot path appends to them).
 */
interface Classification {
  readonly mapping: OperationMapping;
  /** `{"class_uid":…,"severity":"Informational",` */
  readonly head: string;
  /** `"metadata":{"version":…,"event_code":"MODEL_CREATE"` (not closed). */
  readonly metadataHead: string;
}
const CLASSIFICATIONS = new Map<number, Classification>();
function classificationOf(operation: number): Classification {
  let c = CLASSIFICATIONS.get(operation);
  if (c === undefined) {
    const mapping = mappingOf(operation);
    const { cls, activityId, activityName } = mapping;
    const classification = {
      class_uid: cls.classUid,
      class_name: cls.className,
      category_uid: cls.categoryUid,
      category_name: cls.categoryName,
      activity_id: activityId,
      activity_name: activityName,
      type_uid: cls.classUid * 100 + activityId,
      type_name: `${cls.className}: ${activityName}`,
      // An audit record is information; rules (watch) judge what is alarming.
      severity_id: 1,
      severity: "Informational",
    };
    const metadata = JSON.stringify({
      version: OCSF_VERSION,
      product: PRODUCT,
      profiles: PROFILES,
      event_code: operationName(operation),
    });
    c = {
      mapping,
      head: `${JSON.stringify(classification).slice(0, -1)},`,
      metadataHead: `"metadata":${metadata.slice(0, -1)}`,
    };
    // Unknown codes are few, but a hostile stream could send many: keep the table bounded.
    if (CLASSIFICATIONS.size < 1024) CLASSIFICATIONS.set(operation, c);
  }
  return c;
}

function firstOf(targets: readonly TargetView[], kind: string): TargetView | undefined {
  for (const t of targets) if (t.kind === kind) return t;
  return undefined;
}

/** `,"resources":[…]` of the targets not of the kinds skipped (`""` when none is left). */
function resourcesJson(targets: readonly TargetView[], skipUserAndRole: boolean): string {
  let s = "";
  for (const t of targets) {
    if (skipUserAndRole && (t.kind === "user" || t.kind === "role")) continue;
    s += `${s === "" ? ',"resources":[' : ","}${resourceJson(t, targets)}`;
  }
  return s === "" ? "" : `${s}]`;
}

/** The class-specific attributes (entity, group, user, privileges, resources) as `,"name":value…`. */
function subjectJson(m: OperationMapping, v: EntryView, ctx: OcsfContext | undefined): string {
  const targets = v.targets;
  switch (m.subject) {
    case "entity":
      return `,"entity":${managedEntityJson(m.entityType ?? "", m.kind && firstOf(targets, m.kind), targets)}`;
    case "orgMember":
      return `,"group":${orgGroupJson(ctx?.account)},"user":${targetUserJson(firstOf(targets, "user"))}${privilegesJson(targets, false)}`;
    case "team": {
      let s = `,"group":${teamGroupJson(firstOf(targets, "team"))}`;
      const member = firstOf(targets, "user");
      if (member !== undefined) s += `,"user":${targetUserJson(member)}`;
      const app = firstOf(targets, "app");
      if (app !== undefined) s += `,"resource":${resourceJson(app, targets)}`;
      return s;
    }
    case "privileges":
      return `,"user":${targetUserJson(firstOf(targets, "user"))}${privilegesJson(targets, true)}${resourcesJson(targets, true)}`;
    case "account": {
      const changed = firstOf(targets, "user");
      const user =
        changed !== undefined
          ? targetUserJson(changed)
          : v.user && v.user.id !== ""
            ? actorUserJson(v.user, undefined)
            : targetUserJson(undefined);
      return `,"user":${user}`;
    }
    case "api":
      return resourcesJson(targets, false);
  }
}

/**
 * `,"privileges":[…]`: the roles an entry records, or `collaborator` for a collaborator's access
 * (Clarifai records no scopes in the entry). `required`: the class requires the attribute (else `""`
 * when there are no roles).
 */
function privilegesJson(targets: readonly TargetView[], required: boolean): string {
  let roles = "";
  for (const t of targets)
    if (t.kind === "role" && t.id !== "") roles += `${roles === "" ? "" : ","}${q(t.id)}`;
  if (roles !== "") return `,"privileges":[${roles}]`;
  if (!required) return "";
  return targets.some((t) => t.kind === "app") ? ',"privileges":["collaborator"]' : ',"privileges":[]';
}

/**
 * Memos of text that repeats across entries (a log has few users and source IPs): the actor object
 * and the source endpoint, so the hot path neither rebuilds nor re-validates them. Bounded: cleared
 * when full, so a log of many distinct values costs only the misses.
 */
const MEMO_LIMIT = 4096;
interface ActorText {
  readonly user: UserView;
  readonly account: string | undefined;
  readonly json: string;
}
/** By user id; the entry's other fields are compared, not joined into a key (no string per entry). */
const actorMemo = new Map<string, ActorText>();
const sourceMemo = new Map<string, string | undefined>();
function actorJson(u: UserView, account: string | undefined): string {
  const hit = actorMemo.get(u.id);
  if (
    hit !== undefined &&
    hit.account === account &&
    hit.user.firstName === u.firstName &&
    hit.user.lastName === u.lastName &&
    hit.user.email === u.email
  )
    return hit.json;
  if (actorMemo.size >= MEMO_LIMIT) actorMemo.clear();
  const json = `{"user":${actorUserJson(u, account)}}`;
  actorMemo.set(u.id, { user: u, account, json });
  return json;
}
function sourceJson(ip: string): string | undefined {
  if (sourceMemo.has(ip)) return sourceMemo.get(ip);
  if (sourceMemo.size >= MEMO_LIMIT) sourceMemo.clear();
  const src = sourceEndpointJson(ip);
  sourceMemo.set(ip, src);
  return src;
}

/**
 * The OCSF event of an entry's view as JSON text; `rawJson` is the entry's JSON line. Written as text
 * around each operation's precomputed parts: an exporter writes millions of these.
 */
export function eventJson(v: EntryView, rawJson: string, ctx?: OcsfContext): string {
  return `${eventHead(v, ctx)},"raw_data":${q(rawJson)}}`;
}

/**
 * {@link eventJson} up to `raw_data` (the last attribute) and without the closing brace: the byte-level
 * page writer (lines.ts) appends the raw line itself, escaped from its bytes.
 */
export function eventHead(v: EntryView, ctx?: OcsfContext): string {
  const c = classificationOf(v.operation);
  const m = c.mapping;
  const api = m.subject === "api";
  const iso = v.timestampIso === "" ? "" : q(v.timestampIso);
  let s = `${c.head}"time":${v.timeMs},"time_dt":${iso === "" ? EPOCH_DT : iso},`;
  s += v.success ? STATUS_SUCCESS : STATUS_FAILURE;
  s += c.metadataHead;
  if (ctx?.entryId) s += `,"uid":${q(ctx.entryId)}`;
  if (ctx?.account) s += `,"tenant_uid":${q(ctx.account)}`;
  if (v.reqId !== "") s += `,"correlation_uid":${q(v.reqId)}`;
  if (iso !== "") s += `,"original_time":${iso}`;
  s += "}";
  if (v.description !== "") s += `,"message":${q(v.description)}`;
  if (v.user !== undefined && v.user.id !== "") s += `,"actor":${actorJson(v.user, ctx?.account)}`;
  else if (api) s += `,"actor":{"app_name":"${UNKNOWN}"}`;
  const src = sourceJson(v.sourceIp);
  if (src !== undefined) s += `,"src_endpoint":${src}`;
  else if (api) s += `,"src_endpoint":{"name":"${UNKNOWN}"}`;
  if (api) {
    s += `,"api":{"operation":${q(operationName(v.operation))}`;
    s += v.reqId === "" ? "}" : `,"request":{"uid":${q(v.reqId)}}}`;
  }
  s += subjectJson(m, v, ctx);
  const strange = src === undefined && v.sourceIp !== "";
  if (v.details.length > 0 || strange) {
    s += `,"unmapped":{`;
    if (v.details.length > 0) s += `"details":${q(v.details)}${strange ? "," : ""}`;
    if (strange) s += `"source_ip":${q(v.sourceIp)}`;
    s += "}";
  }
  return s;
}
