/**
 * Target filters in a short form (`{ model: "id" }`, `{ model: { id, appId } }`) for each of the 13
 * kinds of the `AuditLogTarget` oneof, turned into the protobuf messages.
 */
import {
  App,
  type AuditLogTarget,
  ComputeCluster,
  Deployment,
  Model,
  ModelVersion,
  Module,
  ModuleVersion,
  Nodepool,
  Role,
  Team,
  User,
  Workflow,
  WorkflowVersion,
} from "../../generated/proto/clarifai/api/resources.js";
import { ValidationError } from "../errors.js";
import { isPlainObject } from "./plainObject.js";

/** The id-like fields each target kind carries in the API (per `resources.proto`). */
export interface TargetFields {
  user: { id: string };
  role: { id: string };
  team: { id: string };
  app: { id: string; userId?: string };
  module: { id: string; appId?: string; userId?: string };
  moduleVersion: { id: string; moduleId?: string; appId?: string; userId?: string };
  workflow: { id: string; appId?: string; userId?: string };
  workflowVersion: { id: string; workflowId?: string; appId?: string; userId?: string };
  model: { id: string; appId?: string; userId?: string };
  /** `ModelVersion` has no model id field in the API; filter on the model target for that. */
  modelVersion: { id: string; appId?: string; userId?: string };
  computeCluster: { id: string; userId?: string };
  nodepool: { id: string; computeClusterId?: string; computeCluster?: string | { id: string } };
  deployment: { id: string; userId?: string };
}

/** A target kind, in camelCase. snake_case spellings (`model_version`) are accepted too. */
export type TargetKind = keyof TargetFields;

/**
 * One target filter: exactly one kind, with an id string or an object of id-like fields.
 * Field names may also be snake_case (`app_id`). A decoded `AuditLogTarget` is accepted as well,
 * as long as it sets nothing but these fields.
 */
export type TargetInput =
  | { [K in TargetKind]?: string | TargetFields[K] }
  | { [K in SnakeTargetKind]?: string | Record<string, string | { id: string } | undefined> }
  | AuditLogTarget;

/** The snake_case spellings of the two-word kinds, as the protos and REST JSON write them. */
export type SnakeTargetKind = "module_version" | "workflow_version" | "model_version" | "compute_cluster";

/** Every target kind, in the oneof's order. */
export const TARGET_KINDS: readonly TargetKind[] = [
  "user",
  "role",
  "team",
  "app",
  "module",
  "moduleVersion",
  "workflow",
  "workflowVersion",
  "model",
  "modelVersion",
  "computeCluster",
  "nodepool",
  "deployment",
];

const ALLOWED_FIELDS: Record<TargetKind, readonly string[]> = {
  user: ["id"],
  role: ["id"],
  team: ["id"],
  app: ["id", "userId"],
  module: ["id", "appId", "userId"],
  moduleVersion: ["id", "moduleId", "appId", "userId"],
  workflow: ["id", "appId", "userId"],
  workflowVersion: ["id", "workflowId", "appId", "userId"],
  model: ["id", "appId", "userId"],
  modelVersion: ["id", "appId", "userId"],
  computeCluster: ["id", "userId"],
  nodepool: ["id", "computeClusterId", "computeCluster"],
  deployment: ["id", "userId"],
};

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const KIND_LIST = TARGET_KINDS.map((k) => `${k} (${snake(k)})`).join(", ");

/** Default-valued fields of a decoded message carry no filter, so they may be present. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") {
    if (v instanceof Uint8Array) return v.length === 0;
    return Object.values(v as Record<string, unknown>).every(isEmpty);
  }
  return false;
}

function idString(field: string, value: unknown, allowed: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(field, value, allowed, "must be a non-empty string");
  }
  // No Clarifai id holds whitespace: such a filter would match nothing, silently.
  if (/\s/.test(value)) throw new ValidationError(field, value, allowed, "an id has no whitespace");
  return value;
}

/**
 * Converts one short-form target to an `AuditLogTarget`.
 * @param field - e.g. `targets[0]`, used in error messages.
 * @throws ValidationError naming the kind, field and allowed alternatives.
 */
export function parseTarget(input: TargetInput, field: string): AuditLogTarget {
  if (!isPlainObject(input)) {
    throw new ValidationError(field, input, `an object with one of: ${KIND_LIST}`, "not a target object");
  }
  const present = Object.entries(input).filter(([, v]) => v !== undefined);
  if (present.length !== 1) {
    throw new ValidationError(
      field,
      input,
      `exactly one of: ${KIND_LIST}`,
      present.length === 0
        ? "no target kind given"
        : "a target has exactly one kind; use one array item per target",
    );
  }
  const [rawKind, rawValue] = present[0];
  const kind = camel(rawKind) as TargetKind;
  if (!(kind in ALLOWED_FIELDS)) {
    throw new ValidationError(`${field}.${rawKind}`, rawKind, KIND_LIST, `unknown target kind "${rawKind}"`);
  }
  const kindField = `${field}.${rawKind}`;
  const allowedFields = ALLOWED_FIELDS[kind];
  const allowedText = `an id string or { ${allowedFields.join(", ")} } (snake_case names also accepted)`;
  const fields: Record<string, unknown> = {};
  if (typeof rawValue === "string") {
    fields.id = rawValue;
  } else if (isPlainObject(rawValue)) {
    for (const [k, v] of Object.entries(rawValue)) {
      const name = camel(k);
      if (allowedFields.includes(name)) {
        if (v !== undefined && !(name !== "id" && v === "")) fields[name] = v;
      } else if (!isEmpty(v)) {
        const problem =
          kind === "modelVersion" && name === "modelId"
            ? "ModelVersion has no model_id field in the API; add a separate { model: id } target"
            : `field "${k}" cannot be used in a ${kind} target filter`;
        throw new ValidationError(`${kindField}.${k}`, v, allowedText, problem);
      }
    }
  } else {
    throw new ValidationError(kindField, rawValue, allowedText, "not an id or an object");
  }
  const id = idString(`${kindField}.id`, fields.id, allowedText);
  const opt = (name: string): string =>
    fields[name] === undefined ? "" : idString(`${kindField}.${name}`, fields[name], allowedText);
  switch (kind) {
    case "user":
      return { user: User.fromPartial({ id }) };
    case "role":
      return { role: Role.fromPartial({ id }) };
    case "team":
      return { team: Team.fromPartial({ id }) };
    case "app":
      return { app: App.fromPartial({ id, userId: opt("userId") }) };
    case "module":
      return { module: Module.fromPartial({ id, appId: opt("appId"), userId: opt("userId") }) };
    case "moduleVersion":
      return {
        moduleVersion: ModuleVersion.fromPartial({
          id,
          moduleId: opt("moduleId"),
          appId: opt("appId"),
          userId: opt("userId"),
        }),
      };
    case "workflow":
      return { workflow: Workflow.fromPartial({ id, appId: opt("appId"), userId: opt("userId") }) };
    case "workflowVersion":
      return {
        workflowVersion: WorkflowVersion.fromPartial({
          id,
          workflowId: opt("workflowId"),
          appId: opt("appId"),
          userId: opt("userId"),
        }),
      };
    case "model":
      return { model: Model.fromPartial({ id, appId: opt("appId"), userId: opt("userId") }) };
    case "modelVersion":
      return { modelVersion: ModelVersion.fromPartial({ id, appId: opt("appId"), userId: opt("userId") }) };
    case "computeCluster":
      return { computeCluster: ComputeCluster.fromPartial({ id, userId: opt("userId") }) };
    case "nodepool": {
      let clusterId = fields.computeClusterId;
      const cc = fields.computeCluster;
      if (cc !== undefined && !isEmpty(cc)) {
        if (typeof cc === "object" && cc !== null) {
          // Only the cluster's id identifies a nodepool target; anything else would be dropped.
          for (const [k, v] of Object.entries(cc)) {
            if (k !== "id" && !isEmpty(v)) {
              throw new ValidationError(
                `${kindField}.computeCluster.${k}`,
                v,
                allowedText,
                "a nodepool target filter matches its compute cluster by id only",
              );
            }
          }
        }
        const ccId = typeof cc === "object" && cc !== null ? (cc as { id?: unknown }).id : cc;
        if (clusterId !== undefined && clusterId !== ccId) {
          throw new ValidationError(
            `${kindField}.computeCluster`,
            cc,
            allowedText,
            "conflicts with computeClusterId",
          );
        }
        clusterId = ccId;
      }
      const cluster =
        clusterId === undefined || clusterId === ""
          ? undefined
          : { id: idString(`${kindField}.computeClusterId`, clusterId, allowedText) };
      return { nodepool: Nodepool.fromPartial({ id, computeCluster: cluster }) };
    }
    case "deployment":
      return { deployment: Deployment.fromPartial({ id, userId: opt("userId") }) };
  }
}

/** The kind and id of a target (for display), e.g. `["model", "general-image-recognition"]`. */
export function targetKindAndId(target: AuditLogTarget): [TargetKind, string] | undefined {
  for (const kind of TARGET_KINDS) {
    const msg = (target as Record<string, { id?: string } | undefined>)[kind];
    if (msg !== undefined) return [kind, msg.id ?? ""];
  }
  return undefined;
}
