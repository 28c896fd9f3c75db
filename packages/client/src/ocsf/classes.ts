/**
 * Which OCSF 1.8 class and activity each Clarifai `EventType` becomes: one table, read once per entry.
 * The class is chosen by what the operation manages (a resource, a group, a user's privileges, a user
 * account); the activity is the class's own when one means the same thing, else Other (99) with
 * Clarifai's verb as `activity_name`. Operations this library does not know fall back to API Activity.
 */
import { EventType } from "../../generated/proto/clarifai/api/resources.js";
import type { TargetKind } from "../domain/targets.js";

/** An OCSF event class this mapping emits. */
export interface OcsfClass {
  readonly classUid: number;
  readonly className: string;
  readonly categoryUid: number;
  readonly categoryName: string;
}

const IAM = { categoryUid: 3, categoryName: "Identity & Access Management" } as const;

/** Account Change (3001): a user account was changed. */
export const ACCOUNT_CHANGE: OcsfClass = { classUid: 3001, className: "Account Change", ...IAM };
/** Entity Management (3004): a managed resource was created, read, updated or deleted. */
export const ENTITY_MANAGEMENT: OcsfClass = { classUid: 3004, className: "Entity Management", ...IAM };
/** User Access Management (3005): a user's privileges were assigned or revoked. */
export const USER_ACCESS: OcsfClass = { classUid: 3005, className: "User Access Management", ...IAM };
/** Group Management (3006): a group or its membership changed. */
export const GROUP_MANAGEMENT: OcsfClass = { classUid: 3006, className: "Group Management", ...IAM };
/** API Activity (6003): the fallback for operations newer than this library. */
export const API_ACTIVITY: OcsfClass = {
  classUid: 6003,
  className: "API Activity",
  categoryUid: 6,
  categoryName: "Application Activity",
};

/** What an entry's targets become in its event. */
export type Subject =
  /** `entity` (Entity Management): the target of `kind`. */
  | "entity"
  /** `group` = the organization, `user` = the member (Group Management). */
  | "orgMember"
  /** `group` = the team, `user` = the member, `resource` = the app (Group Management). */
  | "team"
  /** `user` = the member or collaborator, `privileges` = roles, `resources` = other targets (User Access). */
  | "privileges"
  /** `user` = the account changed (Account Change). */
  | "account"
  /** `resources` = every target (API Activity). */
  | "api";

/** The mapping of one operation. */
export interface OperationMapping {
  readonly cls: OcsfClass;
  readonly activityId: number;
  /** The activity's caption (Clarifai's verb when Other, 99). */
  readonly activityName: string;
  readonly subject: Subject;
  /** The target kind the operation is about (the entity, group or user). */
  readonly kind?: TargetKind;
  /** The entity's type text (`Model Version`). */
  readonly entityType?: string;
}

const CREATE = [1, "Create"] as const;
const UPDATE = [3, "Update"] as const;
const DELETE = [4, "Delete"] as const;

function entity(
  kind: TargetKind | undefined,
  entityType: string,
  [activityId, activityName]: readonly [number, string],
): OperationMapping {
  return { cls: ENTITY_MANAGEMENT, activityId, activityName, subject: "entity", kind, entityType };
}
function group(
  subject: Subject,
  kind: TargetKind | undefined,
  activityId: number,
  activityName: string,
): OperationMapping {
  return { cls: GROUP_MANAGEMENT, activityId, activityName, subject, kind };
}
function access(activityId: number, activityName: string): OperationMapping {
  return { cls: USER_ACCESS, activityId, activityName, subject: "privileges", kind: "user" };
}

/** Every operation of this library's protos → its class and activity. */
const TABLE: Readonly<Record<number, OperationMapping>> = {
  [EventType.ORGANIZATION_MEMBER_ADD]: group("orgMember", "user", 3, "Add User"),
  [EventType.ORGANIZATION_MEMBER_CHANGE]: access(1, "Assign Privileges"),
  [EventType.ORGANIZATION_MEMBER_REMOVE]: group("orgMember", "user", 4, "Remove User"),
  [EventType.ORGANIZATION_MEMBER_INVITATION_CREATE]: entity("user", "Organization Invitation", CREATE),
  [EventType.ORGANIZATION_MEMBER_INVITATION_CANCEL]: entity("user", "Organization Invitation", DELETE),
  [EventType.ORGANIZATION_MEMBER_INVITATION_ACCEPT]: entity("user", "Organization Invitation", [
    99,
    "Accept",
  ]),
  [EventType.ORGANIZATION_MEMBER_INVITATION_DECLINE]: entity("user", "Organization Invitation", [
    99,
    "Decline",
  ]),
  [EventType.ORGANIZATION_TEAM_CREATE]: group("team", "team", 6, "Create"),
  // Group Management has no update: a team's own attributes changing is an entity update.
  [EventType.ORGANIZATION_TEAM_UPDATE]: entity("team", "Team", UPDATE),
  [EventType.ORGANIZATION_TEAM_DELETE]: group("team", "team", 5, "Delete"),
  [EventType.ORGANIZATION_TEAM_MEMBER_ADD]: group("team", "team", 3, "Add User"),
  [EventType.ORGANIZATION_TEAM_MEMBER_REMOVE]: group("team", "team", 4, "Remove User"),
  [EventType.ORGANIZATION_TEAM_APP_ADD]: group("team", "team", 1, "Assign Privileges"),
  [EventType.ORGANIZATION_TEAM_APP_REMOVE]: group("team", "team", 2, "Revoke Privileges"),
  [EventType.MODULE_CREATE]: entity("module", "Module", CREATE),
  [EventType.MODULE_UPDATE]: entity("module", "Module", UPDATE),
  [EventType.MODULE_DELETE]: entity("module", "Module", DELETE),
  [EventType.MODULE_VERSION_CREATE]: entity("moduleVersion", "Module Version", CREATE),
  [EventType.MODULE_VERSION_UPDATE]: entity("moduleVersion", "Module Version", UPDATE),
  [EventType.MODULE_VERSION_DELETE]: entity("moduleVersion", "Module Version", DELETE),
  [EventType.MODEL_CREATE]: entity("model", "Model", CREATE),
  [EventType.MODEL_UPDATE]: entity("model", "Model", UPDATE),
  [EventType.MODEL_DELETE]: entity("model", "Model", DELETE),
  [EventType.MODEL_VERSION_CREATE]: entity("modelVersion", "Model Version", CREATE),
  [EventType.MODEL_VERSION_UPDATE]: entity("modelVersion", "Model Version", UPDATE),
  [EventType.MODEL_VERSION_DELETE]: entity("modelVersion", "Model Version", DELETE),
  [EventType.WORKFLOW_CREATE]: entity("workflow", "Workflow", CREATE),
  [EventType.WORKFLOW_UPDATE]: entity("workflow", "Workflow", UPDATE),
  [EventType.WORKFLOW_DELETE]: entity("workflow", "Workflow", DELETE),
  [EventType.WORKFLOW_VERSION_CREATE]: entity("workflowVersion", "Workflow Version", CREATE),
  [EventType.WORKFLOW_VERSION_UPDATE]: entity("workflowVersion", "Workflow Version", UPDATE),
  [EventType.WORKFLOW_VERSION_DELETE]: entity("workflowVersion", "Workflow Version", DELETE),
  [EventType.APPLICATION_CREATE]: entity("app", "Application", CREATE),
  [EventType.APPLICATION_UPDATE]: entity("app", "Application", UPDATE),
  [EventType.APPLICATION_DELETE]: entity("app", "Application", DELETE),
  [EventType.COLLABORATOR_ADD]: access(1, "Assign Privileges"),
  // A collaborator's scopes changed: neither an assignment nor a revocation as such.
  [EventType.COLLABORATOR_UPDATE]: entity("user", "Collaborator", UPDATE),
  [EventType.COLLABORATOR_REMOVE]: access(2, "Revoke Privileges"),
  [EventType.USER_UPDATE]: {
    cls: ACCOUNT_CHANGE,
    activityId: 99,
    activityName: "Update",
    subject: "account",
    kind: "user",
  },
  [EventType.COMPUTE_CLUSTER_CREATE]: entity("computeCluster", "Compute Cluster", CREATE),
  [EventType.COMPUTE_CLUSTER_DELETE]: entity("computeCluster", "Compute Cluster", DELETE),
  [EventType.NODEPOOL_CREATE]: entity("nodepool", "Nodepool", CREATE),
  [EventType.NODEPOOL_UPDATE]: entity("nodepool", "Nodepool", UPDATE),
  [EventType.NODEPOOL_DELETE]: entity("nodepool", "Nodepool", DELETE),
  [EventType.DEPLOYMENT_CREATE]: entity("deployment", "Deployment", CREATE),
  [EventType.DEPLOYMENT_UPDATE]: entity("deployment", "Deployment", UPDATE),
  [EventType.DEPLOYMENT_DELETE]: entity("deployment", "Deployment", DELETE),
};

/** Operations newer than these protos (and EVENT_TYPE_NOT_SET): an API call of unknown kind. */
const FALLBACK: OperationMapping = {
  cls: API_ACTIVITY,
  activityId: 0,
  activityName: "Unknown",
  subject: "api",
};

/** The mapping of an operation code. */
export function mappingOf(operation: number): OperationMapping {
  return TABLE[operation] ?? FALLBACK;
}

/** The type text of each target kind (resources, entities). */
export const KIND_CAPTIONS: Readonly<Record<TargetKind, string>> = {
  user: "User",
  role: "Role",
  team: "Team",
  app: "Application",
  module: "Module",
  moduleVersion: "Module Version",
  workflow: "Workflow",
  workflowVersion: "Workflow Version",
  model: "Model",
  modelVersion: "Model Version",
  computeCluster: "Compute Cluster",
  nodepool: "Nodepool",
  deployment: "Deployment",
};
