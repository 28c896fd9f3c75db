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
  actorUser,
  managedEntity,
  type OcsfObject,
  orgGroup,
  resourceOf,
  sourceEndpoint,
  targetUser,
  teamGroup,
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

/** The class-specific attributes (entity, group, user, privileges, resources), in `event`. */
function subjectAttributes(
  event: Record<string, unknown>,
  m: OperationMapping,
  v: EntryView,
  ctx: OcsfContext | undefined,
): void {
  const targets = v.targets;
  const others = (...skip: string[]): OcsfObject[] =>
    targets.filter((t) => !skip.includes(t.kind)).map((t) => resourceOf(t, targets));
  switch (m.subject) {
    case "entity":
      event.entity = managedEntity(m.entityType ?? "", m.kind && firstOf(targets, m.kind), targets);
      return;
    case "orgMember":
      event.group = orgGroup(ctx?.account);
      event.user = targetUser(firstOf(targets, "user"));
      addPrivileges(event, targets, false);
      return;
    case "team": {
      event.group = teamGroup(firstOf(targets, "team"));
      const member = firstOf(targets, "user");
      if (member !== undefined) event.user = targetUser(member);
      const app = firstOf(targets, "app");
      if (app !== undefined) event.resource = resourceOf(app, targets);
      return;
    }
    case "privileges": {
      event.user = targetUser(firstOf(targets, "user"));
      addPrivileges(event, targets, true);
      const resources = others("user", "role");
      if (resources.length > 0) event.resources = resources;
      return;
    }
    case "account": {
      const changed = firstOf(targets, "user");
      event.user =
        changed !== undefined
          ? targetUser(changed)
          : v.user && v.user.id !== ""
            ? actorUser(v.user, undefined)
            : targetUser(undefined);
      return;
    }
    case "api": {
      const resources = others();
      if (resources.length > 0) event.resources = resources;
      return;
    }
  }
}

/**
 * `privileges`: the roles an entry records, or `collaborator` for a collaborator's access (Clarifai
 * records no scopes in the entry). `required`: the class requires the attribute.
 */
function addPrivileges(
  event: Record<string, unknown>,
  targets: readonly TargetView[],
  required: boolean,
): void {
  const roles: string[] = [];
  for (const t of targets) if (t.kind === "role" && t.id !== "") roles.push(t.id);
  if (roles.length > 0) event.privileges = roles;
  else if (required) event.privileges = targets.some((t) => t.kind === "app") ? ["collaborator"] : [];
}

/**
 * Memos of text that repeats across entries (a log has few users and source IPs): the actor object
 * and the source endpoint, so the hot path neither rebuilds nor re-validates them. Bounded: cleared
 * when full, so a log of many distinct values costs only the misses.
 */
const MEMO_LIMIT = 4096;
const actorMemo = new Map<string, string>();
const sourceMemo = new Map<string, string | undefined>();
function memo<V>(map: Map<string, V>, key: string, make: () => V): V {
  if (map.has(key)) return map.get(key) as V;
  if (map.size >= MEMO_LIMIT) map.clear();
  const value = make();
  map.set(key, value);
  return value;
}
function actorJson(u: UserView, account: string | undefined): string {
  const key = `${u.id}\u0000${u.firstName}\u0000${u.lastName}\u0000${u.email}\u0000${account ?? ""}`;
  return memo(actorMemo, key, () => q({ user: actorUser(u, account) }));
}
function sourceJson(ip: string): string | undefined {
  return memo(sourceMemo, ip, () => {
    const src = sourceEndpoint(ip);
    return src === undefined ? undefined : q(src);
  });
}

/**
 * The OCSF event of an entry's view as JSON text; `rawJson` is the entry's JSON line. Written as text
 * around each operation's precomputed parts: an exporter writes millions of these.
 */
export function eventJson(v: EntryView, rawJson: string, ctx?: OcsfContext): string {
  const c = classificationOf(v.operation);
  const m = c.mapping;
  const api = m.subject === "api";
  let s = `${c.head}"time":${v.timeMs},"time_dt":${v.timestampIso === "" ? EPOCH_DT : q(v.timestampIso)},`;
  s += v.success ? STATUS_SUCCESS : STATUS_FAILURE;
  s += c.metadataHead;
  if (ctx?.entryId) s += `,"uid":${q(ctx.entryId)}`;
  if (ctx?.account) s += `,"tenant_uid":${q(ctx.account)}`;
  if (v.reqId !== "") s += `,"correlation_uid":${q(v.reqId)}`;
  if (v.timestampIso !== "") s += `,"original_time":${q(v.timestampIso)}`;
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
  const subject: Record<string, unknown> = {};
  subjectAttributes(subject, m, v, ctx);
  for (const key in subject) s += `,"${key}":${q(subject[key])}`;
  const strange = src === undefined && v.sourceIp !== "";
  if (v.details.length > 0 || strange) {
    s += `,"unmapped":{`;
    if (v.details.length > 0) s += `"details":${q(v.details)}${strange ? "," : ""}`;
    if (strange) s += `"source_ip":${q(v.sourceIp)}`;
    s += "}";
  }
  return `${s},"raw_data":${q(rawJson)}}`;
}
