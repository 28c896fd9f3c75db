/**
 * The 13 kinds of the AuditLogTarget oneof and the ids that identify a target of each kind. The
 * store and the query matcher both reduce a target to (kind, id, app id, user id, parent id).
 */
import type { AuditLogTarget } from "../../generated/proto/clarifai/api/resources.js";
import { TARGET_KINDS, type TargetKind } from "../domain/targets.js";

// One table of kinds (in the oneof's order) for the client and the emulator; re-exported so the
// emulator's modules keep importing it from here.
export { TARGET_KINDS, type TargetKind };

/** snake_case names, as the proto and the REST JSON spell them. */
export const TARGET_KIND_JSON_NAMES: Readonly<Record<TargetKind, string>> = {
  user: "user",
  role: "role",
  team: "team",
  app: "app",
  module: "module",
  moduleVersion: "module_version",
  workflow: "workflow",
  workflowVersion: "workflow_version",
  model: "model",
  modelVersion: "model_version",
  computeCluster: "compute_cluster",
  nodepool: "nodepool",
  deployment: "deployment",
};

/** A target reduced to what identifies it. `parentId` is a module/workflow/compute-cluster id. */
export interface TargetKey {
  kind: number;
  id: string;
  appId: string;
  userId: string;
  parentId: string;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The set kind of a target (index into TARGET_KINDS) and its ids; undefined when no kind is set. */
export function targetKey(t: AuditLogTarget): TargetKey | undefined {
  for (let kind = 0; kind < TARGET_KINDS.length; kind++) {
    const name = TARGET_KINDS[kind] as TargetKind;
    const r = t[name] as Record<string, unknown> | undefined;
    if (r === undefined || r === null) continue;
    let parentId = "";
    if (name === "moduleVersion") parentId = str(r.moduleId);
    else if (name === "workflowVersion") parentId = str(r.workflowId);
    else if (name === "nodepool")
      parentId = str((r.computeCluster as Record<string, unknown> | undefined)?.id);
    return { kind, id: str(r.id), appId: str(r.appId), userId: str(r.userId), parentId };
  }
  return undefined;
}
