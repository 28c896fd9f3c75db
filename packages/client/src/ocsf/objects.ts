/**
 * The OCSF objects an entry's people and targets become: users, groups, managed entities and
 * resource details. Each object carries only what the entry recorded (no empty strings), and where
 * OCSF wants an identifier the entry did not record, the name `unknown` says so.
 */
import { isIP } from "node:net";
import { TARGET_KIND_TABLE } from "../domain/targets.js";
import { KIND_CAPTIONS } from "./classes.js";
import type { TargetView, UserView } from "./entryView.js";

/** The name given where OCSF requires an object the entry did not record. */
export const UNKNOWN = "unknown";

/** A JSON object of an OCSF event. */
export type OcsfObject = Record<string, unknown>;

// OCSF's email_t pattern (dictionary.json): an address it would refuse stays in raw_data only.
const EMAIL = /^[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;

/** An OCSF `organization` of the collector's account, if known. */
export function orgOf(account: string | undefined): OcsfObject | undefined {
  return account ? { uid: account } : undefined;
}

/** The OCSF `user` who performed the operation (Clarifai's user id is the login name). */
export function actorUser(u: UserView, account: string | undefined): OcsfObject {
  const user: OcsfObject = { uid: u.id, name: u.id };
  const fullName = `${u.firstName} ${u.lastName}`.trim();
  if (fullName !== "") user.full_name = fullName;
  if (u.email !== "" && EMAIL.test(u.email)) user.email_addr = u.email;
  const org = orgOf(account);
  if (org !== undefined) user.org = org;
  return user;
}

/** An OCSF `user` for a user target (a member, collaborator, invitee, changed account). */
export function targetUser(t: TargetView | undefined): OcsfObject {
  if (t === undefined || t.id === "") return { name: UNKNOWN, type_id: 0, type: "Unknown" };
  return { uid: t.id, name: t.id };
}

/** An OCSF `group` for a team target. */
export function teamGroup(t: TargetView | undefined): OcsfObject {
  if (t === undefined || t.id === "") return { name: UNKNOWN, type: "Team" };
  return { uid: t.id, name: t.name === "" ? t.id : t.name, type: "Team" };
}

/** The OCSF `group` of an organization's members: the collector's account. */
export function orgGroup(account: string | undefined): OcsfObject {
  return account ? { uid: account, type: "Organization" } : { name: UNKNOWN, type: "Organization" };
}

/**
 * Where a target lives, as `data` of its entity or resource: its app, owner and parent, from the
 * target or (as Clarifai records them) from sibling targets of the same entry.
 */
function scopeOf(t: TargetView, siblings: readonly TargetView[]): OcsfObject | undefined {
  const data: OcsfObject = {};
  let empty = true;
  const set = (k: string, v: string): void => {
    if (v === "") return;
    data[k] = v;
    empty = false;
  };
  const sibling = (kind: string): string => siblings.find((s) => s.kind === kind && s !== t)?.id ?? "";
  if (TARGET_KIND_TABLE[t.kind].fields.includes("appId")) set("app_id", t.appId || sibling("app"));
  set("user_id", t.userId);
  if (t.kind === "moduleVersion") set("module_id", t.parentId || sibling("module"));
  else if (t.kind === "workflowVersion") set("workflow_id", t.parentId || sibling("workflow"));
  else if (t.kind === "modelVersion") set("model_id", sibling("model"));
  else if (t.kind === "nodepool") set("compute_cluster_id", t.parentId || sibling("computeCluster"));
  return empty ? undefined : data;
}

/** An OCSF `managed_entity` (Entity Management's `entity`) for the target the operation is about. */
export function managedEntity(
  type: string,
  t: TargetView | undefined,
  siblings: readonly TargetView[],
): OcsfObject {
  // type_id Other: none of OCSF's entity types (device, user, group…) is a Clarifai resource as such.
  const entity: OcsfObject = { type_id: 99, type };
  if (t === undefined || t.id === "") {
    entity.name = UNKNOWN;
    return entity;
  }
  entity.uid = t.id;
  entity.name = t.name === "" ? t.id : t.name;
  if (t.kind === "user") entity.user = targetUser(t);
  else if (t.kind === "team") entity.group = teamGroup(t);
  const data = scopeOf(t, siblings);
  if (data !== undefined) entity.data = data;
  return entity;
}

/** An OCSF `resource_details` for any target. */
export function resourceOf(t: TargetView, siblings: readonly TargetView[]): OcsfObject {
  const resource: OcsfObject = { type: KIND_CAPTIONS[t.kind] };
  if (t.id !== "") resource.uid = t.id;
  resource.name = t.name !== "" ? t.name : t.id !== "" ? t.id : UNKNOWN;
  const data = scopeOf(t, siblings);
  if (data !== undefined) resource.data = data;
  return resource;
}

/** An OCSF `network_endpoint` for the source IP, if it is one (else the text stays in `unmapped`). */
export function sourceEndpoint(sourceIp: string): OcsfObject | undefined {
  // OCSF's ip_t is at most 40 characters.
  return sourceIp.length <= 40 && isIP(sourceIp) !== 0 ? { ip: sourceIp } : undefined;
}
