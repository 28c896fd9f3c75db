/**
 * The OCSF objects an entry's people and targets become: users, groups, managed entities and
 * resource details. Each object carries only what the entry recorded (no empty strings), and where
 * OCSF wants an identifier the entry did not record, the name `unknown` says so. Each is written as
 * JSON text directly (attributes in the order given here): the exporters' hot path builds millions,
 * and objects made only to be stringified were most of its garbage.
 */
import { isIP } from "node:net";
import { TARGET_KIND_TABLE } from "../domain/targets.js";
import { KIND_CAPTIONS } from "./classes.js";
import type { TargetView, UserView } from "./entryView.js";

/** The name given where OCSF requires an object the entry did not record. */
export const UNKNOWN = "unknown";

/** A JSON object of an OCSF event. */
export type OcsfObject = Record<string, unknown>;

const q = JSON.stringify;
const UNKNOWN_USER = `{"name":"${UNKNOWN}","type_id":0,"type":"Unknown"}`;
const UNKNOWN_TEAM = `{"name":"${UNKNOWN}","type":"Team"}`;

// OCSF's email_t pattern (dictionary.json): an address it would refuse stays in raw_data only.
const EMAIL = /^[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;

/** The OCSF `user` who performed the operation (Clarifai's user id is the login name). */
export function actorUserJson(u: UserView, account: string | undefined): string {
  const id = q(u.id);
  let s = `{"uid":${id},"name":${id}`;
  const fullName = `${u.firstName} ${u.lastName}`.trim();
  if (fullName !== "") s += `,"full_name":${q(fullName)}`;
  if (u.email !== "" && EMAIL.test(u.email)) s += `,"email_addr":${q(u.email)}`;
  // The actor's organization: the collector's account, if known.
  if (account) s += `,"org":{"uid":${q(account)}}`;
  return `${s}}`;
}

/** An OCSF `user` for a user target (a member, collaborator, invitee, changed account). */
export function targetUserJson(t: TargetView | undefined): string {
  if (t === undefined || t.id === "") return UNKNOWN_USER;
  const id = q(t.id);
  return `{"uid":${id},"name":${id}}`;
}

/** An OCSF `group` for a team target. */
export function teamGroupJson(t: TargetView | undefined): string {
  if (t === undefined || t.id === "") return UNKNOWN_TEAM;
  return `{"uid":${q(t.id)},"name":${q(t.name === "" ? t.id : t.name)},"type":"Team"}`;
}

/** The OCSF `group` of an organization's members: the collector's account. */
export function orgGroupJson(account: string | undefined): string {
  return account
    ? `{"uid":${q(account)},"type":"Organization"}`
    : `{"name":"${UNKNOWN}","type":"Organization"}`;
}

function siblingId(siblings: readonly TargetView[], t: TargetView, kind: string): string {
  for (const s of siblings) if (s.kind === kind && s !== t) return s.id;
  return "";
}

/** Per kind: whether its targets have an app (`app_id` in their scope). */
const HAS_APP = new Map(
  Object.entries(TARGET_KIND_TABLE).map(([kind, row]) => [kind, row.fields.includes("appId")]),
);

/**
 * Where a target lives, as `data` of its entity or resource (`,"data":{…}`, or `""` when nothing is
 * known): its app, owner and parent, from the target or (as Clarifai records them) from sibling
 * targets of the same entry.
 */
function scopeJson(t: TargetView, siblings: readonly TargetView[]): string {
  let s = "";
  const set = (k: string, v: string): void => {
    if (v !== "") s += `${s === "" ? "" : ","}"${k}":${q(v)}`;
  };
  if (HAS_APP.get(t.kind) === true) set("app_id", t.appId || siblingId(siblings, t, "app"));
  set("user_id", t.userId);
  if (t.kind === "moduleVersion") set("module_id", t.parentId || siblingId(siblings, t, "module"));
  else if (t.kind === "workflowVersion") set("workflow_id", t.parentId || siblingId(siblings, t, "workflow"));
  else if (t.kind === "modelVersion") set("model_id", siblingId(siblings, t, "model"));
  else if (t.kind === "nodepool")
    set("compute_cluster_id", t.parentId || siblingId(siblings, t, "computeCluster"));
  return s === "" ? "" : `,"data":{${s}}`;
}

/** An OCSF `managed_entity` (Entity Management's `entity`) for the target the operation is about. */
export function managedEntityJson(
  type: string,
  t: TargetView | undefined,
  siblings: readonly TargetView[],
): string {
  // type_id Other: none of OCSF's entity types (device, user, group…) is a Clarifai resource as such.
  const head = `{"type_id":99,"type":${q(type)}`;
  if (t === undefined || t.id === "") return `${head},"name":"${UNKNOWN}"}`;
  let s = `${head},"uid":${q(t.id)},"name":${q(t.name === "" ? t.id : t.name)}`;
  if (t.kind === "user") s += `,"user":${targetUserJson(t)}`;
  else if (t.kind === "team") s += `,"group":${teamGroupJson(t)}`;
  return `${s}${scopeJson(t, siblings)}}`;
}

/** An OCSF `resource_details` for any target. */
export function resourceJson(t: TargetView, siblings: readonly TargetView[]): string {
  let s = `{"type":${q(KIND_CAPTIONS[t.kind])}`;
  if (t.id !== "") s += `,"uid":${q(t.id)}`;
  s += `,"name":${q(t.name !== "" ? t.name : t.id !== "" ? t.id : UNKNOWN)}`;
  return `${s}${scopeJson(t, siblings)}}`;
}

/** An OCSF `network_endpoint` for the source IP, if it is one (else the text stays in `unmapped`). */
export function sourceEndpointJson(sourceIp: string): string | undefined {
  // OCSF's ip_t is at most 40 characters.
  return sourceIp.length <= 40 && isIP(sourceIp) !== 0 ? `{"ip":${q(sourceIp)}}` : undefined;
}
