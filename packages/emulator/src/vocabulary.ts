/**
 * The words the synthetic log is made of (packages/emulator/src/generate.ts): users and their names, the
 * documentation's descriptions, the operations one request records together, resource-name parts.
 */
import { EventType } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";

export const DEFAULT_USER_IDS = [
  "emulator-user",
  "alfrick",
  "maria-chen",
  "kwame-mensah",
  "sofia-rossi",
  "li-wei",
  "priya-nair",
  "jonas-berg",
  "amara-okafor",
  "ci-deploy-bot",
];
export const FIRST = [
  "Emulator",
  "Alfrick",
  "Maria",
  "Kwame",
  "Sofia",
  "Wei",
  "Priya",
  "Jonas",
  "Amara",
  "Deploy",
  "Ana",
];
export const LAST = [
  "User",
  "Opidi",
  "Chen",
  "Mensah",
  "Rossi",
  "Li",
  "Nair",
  "Berg",
  "Okafor",
  "Bot",
  "Silva",
];
export const ROLES = ["Data Science / Machine Learning", "Engineering", "Product", "Operations", "Research"];

/* FIRST[i] LAST[i] is the name of DEFAULT_USER_IDS[i]; custom user ids reuse the names in turn. */

/** Descriptions as the documentation's event-type table words them. */
export const DESCRIPTIONS: Record<number, string> = {
  100: "Organization members added",
  101: "Organization members' roles changed",
  102: "Organization members removed",
  103: "Organization member invitations created",
  104: "Organization member invitations canceled",
  105: "Organization member invitations accepted",
  106: "Organization member invitations declined",
  107: "Organization teams created",
  108: "Organization teams updated",
  109: "Organization teams deleted",
  110: "Organization team members added",
  111: "Organization team members removed",
  112: "Organization team applications added",
  113: "Organization team applications removed",
  200: "Modules created",
  201: "Modules updated",
  202: "Modules deleted",
  203: "Module versions created",
  204: "Module versions updated",
  205: "Module versions deleted",
  300: "Models created",
  301: "Models updated",
  302: "Models deleted",
  303: "Model versions created",
  304: "Model versions updated",
  305: "Model versions deleted",
  400: "Workflows created",
  401: "Workflows updated",
  402: "Workflows deleted",
  403: "Workflow versions created",
  404: "Workflow versions updated",
  405: "Workflow versions deleted",
  600: "Applications created",
  601: "Applications updated",
  602: "Applications deleted",
  700: "Collaborators added",
  701: "Collaborators updated",
  702: "Collaborators removed",
  800: "Users updated",
  900: "Compute clusters created",
  901: "Compute clusters deleted",
  1000: "Nodepools created",
  1001: "Nodepools updated",
  1002: "Nodepools deleted",
  1100: "Deployments created",
  1101: "Deployments updated",
  1102: "Deployments deleted",
};

/** Every real EventType (not EVENT_TYPE_NOT_SET / UNRECOGNIZED). */
export const ALL_EVENT_TYPES: readonly EventType[] = Object.values(EventType).filter(
  (v): v is EventType => typeof v === "number" && v > 0,
);

/** "Create", "Update", … per EventType, for the details line. */
export const VERBS = new Map<number, string>(
  ALL_EVENT_TYPES.map((op) => {
    const verb = (EventType[op] ?? "").split("_").pop()?.toLowerCase() ?? "change";
    return [op, verb.charAt(0).toUpperCase() + verb.slice(1)];
  }),
);

/** Follow-up operations one request commonly records after the first (same req_id). */
export const FOLLOW_UPS: Partial<Record<number, EventType[]>> = {
  [EventType.APPLICATION_CREATE]: [EventType.WORKFLOW_CREATE, EventType.WORKFLOW_VERSION_CREATE],
  [EventType.WORKFLOW_CREATE]: [EventType.WORKFLOW_VERSION_CREATE],
  [EventType.MODEL_CREATE]: [EventType.MODEL_VERSION_CREATE],
  [EventType.MODULE_CREATE]: [EventType.MODULE_VERSION_CREATE],
  [EventType.COMPUTE_CLUSTER_CREATE]: [EventType.NODEPOOL_CREATE],
  [EventType.NODEPOOL_CREATE]: [EventType.DEPLOYMENT_CREATE],
  [EventType.ORGANIZATION_TEAM_CREATE]: [EventType.ORGANIZATION_TEAM_MEMBER_ADD],
  [EventType.ORGANIZATION_MEMBER_INVITATION_ACCEPT]: [EventType.ORGANIZATION_MEMBER_ADD],
};

export const ADJ = ["visual", "general", "face", "text", "demo", "prod", "test", "retail", "medical", "fast"];
export const NOUN = [
  "classifier",
  "detector",
  "embedder",
  "search",
  "ocr",
  "moderation",
  "pipeline",
  "app",
  "llm",
];
