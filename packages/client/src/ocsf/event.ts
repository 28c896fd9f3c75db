/**
 * One entry → one OCSF 1.8 event: the classification from the operation's row of the mapping table
 * (computed once per operation), the people and targets as OCSF objects, the time in milliseconds
 * (`time`) and exactly as recorded (`time_dt`, `metadata.original_time`: nanoseconds kept), and the
 * entry itself as `raw_data`.
 */
import { operationName } from "../domain/operations.js";
import { formatTimestamp } from "../domain/time.js";
import { mappingOf, type OperationMapping } from "./classes.js";
import type { EntryView, TargetView } from "./entryView.js";
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
/** The profiles every event applies: `datetime` gives `time_dt` (RFC 3339, every digit kept). */
const PROFILES = Object.freeze(["datetime"]);
const EPOCH_DT = formatTimestamp({ seconds: 0, nanos: 0 });

/** The classification attributes of an operation, computed once per operation code. */
interface Classification {
  readonly mapping: OperationMapping;
  readonly name: string;
  readonly typeUid: number;
  readonly typeName: string;
}
const CLASSIFICATIONS = new Map<number, Classification>();
function classificationOf(operation: number): Classification {
  let c = CLASSIFICATIONS.get(operation);
  if (c === undefined) {
    const mapping = mappingOf(operation);
    c = {
      mapping,
      name: operationName(operation),
      typeUid: mapping.cls.classUid * 100 + mapping.activityId,
      typeName: `${mapping.cls.className}: ${mapping.activityName}`,
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

/** The class-specific attributes (entity, group, user, privileges, resources). */
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
  else if (required)
    event.privileges =
      event.class_uid === 3005 && targets.some((t) => t.kind === "app") ? ["collaborator"] : [];
}

/** The OCSF event of an entry's view; `rawJson` is the entry's JSON line. */
export function buildEvent(v: EntryView, rawJson: string, ctx?: OcsfContext): OcsfEvent {
  const c = classificationOf(v.operation);
  const m = c.mapping;
  const metadata: OcsfObject = {
    version: OCSF_VERSION,
    product: PRODUCT,
    profiles: PROFILES,
    event_code: c.name,
  };
  if (ctx?.entryId) metadata.uid = ctx.entryId;
  if (ctx?.account) metadata.tenant_uid = ctx.account;
  if (v.reqId !== "") metadata.correlation_uid = v.reqId;
  if (v.timestampIso !== "") metadata.original_time = v.timestampIso;
  const event: OcsfEvent = {
    class_uid: m.cls.classUid,
    class_name: m.cls.className,
    category_uid: m.cls.categoryUid,
    category_name: m.cls.categoryName,
    activity_id: m.activityId,
    activity_name: m.activityName,
    type_uid: c.typeUid,
    type_name: c.typeName,
    // An audit record is information; rules (watch) judge what is alarming.
    severity_id: 1,
    severity: "Informational",
    time: v.timeMs,
    time_dt: v.timestampIso === "" ? EPOCH_DT : v.timestampIso,
    status_id: v.success ? 1 : 2,
    status: v.success ? "Success" : "Failure",
    metadata,
    raw_data: rawJson,
  };
  if (v.description !== "") event.message = v.description;
  if (v.user !== undefined && v.user.id !== "") event.actor = { user: actorUser(v.user, ctx?.account) };
  else if (m.subject === "api") event.actor = { app_name: UNKNOWN };
  const src = sourceEndpoint(v.sourceIp);
  if (src !== undefined) event.src_endpoint = src;
  else if (m.subject === "api") event.src_endpoint = { name: UNKNOWN };
  if (m.subject === "api") {
    const api: OcsfObject = { operation: c.name };
    if (v.reqId !== "") api.request = { uid: v.reqId };
    event.api = api;
  }
  subjectAttributes(event, m, v, ctx);
  const unmapped: OcsfObject = {};
  if (v.details.length > 0) unmapped.details = v.details;
  if (src === undefined && v.sourceIp !== "") unmapped.source_ip = v.sourceIp;
  if (unmapped.details !== undefined || unmapped.source_ip !== undefined) event.unmapped = unmapped;
  return event;
}
