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
import { camelToSnake, snakeToCamel } from "./caseNames.js";
import { ValidationError } from "./errors.js";
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

/** What the project knows about one target kind: one table for parsing, the CLI, CSV and the emulator. */
export interface TargetKindSpec {
  /** The message class of the kind (ts-proto), which builds the filter. */
  readonly message: { fromPartial(fields: Record<string, unknown>): unknown };
  /** The id-like fields a short-form filter may set (camelCase), `id` first. */
  readonly fields: readonly string[];
  /** The field naming the target's parent (module, workflow, compute cluster), if the kind has one. */
  readonly parent?: string;
  /**
   * The kind of that parent. Clarifai records a target's app and parent as targets of their own
   * beside it (a model's entry holds `model {id, app_id: ""}` and `app {id}`), so a filter's scope
   * is matched against those siblings too (see {@link entryHasTarget}).
   */
  readonly parentKind?: TargetKind;
  /** Sibling kinds the kind's own id already determines (a model version's model): printed beside it. */
  readonly determines?: readonly TargetKind[];
  /** The id paths `--target kind=…` accepts: the scope fields before the trailing id. */
  readonly cliPaths: readonly (readonly string[])[];
}

const APP_SCOPED = [[], ["appId"], ["userId", "appId"]] as const;

/** Every target kind, in the oneof's order (the key order of this table). */
export const TARGET_KIND_TABLE: Readonly<Record<TargetKind, TargetKindSpec>> = {
  user: { message: User, fields: ["id"], cliPaths: [[]] },
  role: { message: Role, fields: ["id"], cliPaths: [[]] },
  team: { message: Team, fields: ["id"], cliPaths: [[]] },
  app: { message: App, fields: ["id", "userId"], cliPaths: [[], ["userId"]] },
  module: { message: Module, fields: ["id", "appId", "userId"], cliPaths: APP_SCOPED },
  moduleVersion: {
    message: ModuleVersion,
    fields: ["id", "moduleId", "appId", "userId"],
    parent: "moduleId",
    parentKind: "module",
    cliPaths: [[], ["appId"], ["appId", "moduleId"], ["userId", "appId", "moduleId"]],
  },
  workflow: { message: Workflow, fields: ["id", "appId", "userId"], cliPaths: APP_SCOPED },
  workflowVersion: {
    message: WorkflowVersion,
    fields: ["id", "workflowId", "appId", "userId"],
    parent: "workflowId",
    parentKind: "workflow",
    cliPaths: [[], ["appId"], ["appId", "workflowId"], ["userId", "appId", "workflowId"]],
  },
  model: { message: Model, fields: ["id", "appId", "userId"], cliPaths: APP_SCOPED },
  modelVersion: {
    message: ModelVersion,
    fields: ["id", "appId", "userId"],
    determines: ["model"],
    cliPaths: APP_SCOPED,
  },
  computeCluster: { message: ComputeCluster, fields: ["id", "userId"], cliPaths: [[], ["userId"]] },
  nodepool: {
    message: Nodepool,
    fields: ["id", "computeClusterId", "computeCluster"],
    parent: "computeCluster",
    parentKind: "computeCluster",
    cliPaths: [[], ["computeClusterId"]],
  },
  deployment: { message: Deployment, fields: ["id", "userId"], cliPaths: [[], ["userId"]] },
};

/** Every target kind, in the oneof's order. */
export const TARGET_KINDS: readonly TargetKind[] = Object.keys(TARGET_KIND_TABLE) as TargetKind[];

/** snake_case names of the kinds, as the proto and the REST JSON spell them. */
export const TARGET_KIND_JSON_NAMES: Readonly<Record<TargetKind, string>> = Object.fromEntries(
  TARGET_KINDS.map((k) => [k, camelToSnake(k)]),
) as Record<TargetKind, string>;

const KIND_LIST = TARGET_KINDS.map((k) => `${k} (${TARGET_KIND_JSON_NAMES[k]})`).join(", ");

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
  const kind = snakeToCamel(rawKind) as TargetKind;
  if (!Object.hasOwn(TARGET_KIND_TABLE, kind)) {
    throw new ValidationError(`${field}.${rawKind}`, rawKind, KIND_LIST, `unknown target kind "${rawKind}"`);
  }
  const kindField = `${field}.${rawKind}`;
  const spec = TARGET_KIND_TABLE[kind];
  const allowedFields = spec.fields;
  const allowedText = `an id string or { ${allowedFields.join(", ")} } (snake_case names also accepted)`;
  const fields: Record<string, unknown> = {};
  if (typeof rawValue === "string") {
    fields.id = rawValue;
  } else if (isPlainObject(rawValue)) {
    for (const [k, v] of Object.entries(rawValue)) {
      const name = snakeToCamel(k);
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
  if (kind === "nodepool")
    return { nodepool: Nodepool.fromPartial({ id, computeCluster: nodepoolCluster() }) };
  const message: Record<string, unknown> = { id };
  for (const name of allowedFields) if (name !== "id") message[name] = opt(name);
  return { [kind]: spec.message.fromPartial(message) } as AuditLogTarget;

  function nodepoolCluster(): { id: string } | undefined {
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
    return clusterId === undefined || clusterId === ""
      ? undefined
      : { id: idString(`${kindField}.computeClusterId`, clusterId, allowedText) };
  }
}

/** The kind a target sets (the first in the oneof's order), or undefined when it sets none. */
function targetKindOf(target: AuditLogTarget): TargetKind | undefined {
  const members = target as Record<string, unknown>;
  for (const kind of TARGET_KINDS) {
    const member = members[kind];
    if (member !== undefined && member !== null) return kind;
  }
  return undefined;
}

/** `kind:id`, or `kind:app_id/id` when the target names its app (the CSV form); `""` when none is set. */
export function targetToText(target: AuditLogTarget): string {
  const kind = targetKindOf(target);
  if (kind === undefined) return "";
  const value = target[kind] as { id?: string; appId?: string };
  const app = value.appId ? `${value.appId}/` : "";
  return `${TARGET_KIND_JSON_NAMES[kind]}:${app}${value.id ?? ""}`;
}

/** A target reduced to what identifies it, for the emulator's store and matcher. */
export interface TargetKey {
  /** Index of the kind in {@link TARGET_KINDS}. */
  kind: number;
  id: string;
  appId: string;
  userId: string;
  /** The module, workflow or compute cluster id of a version or nodepool target; `""` otherwise. */
  parentId: string;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The set kind of a target (index into TARGET_KINDS) and its ids; undefined when no kind is set. */
export function targetKey(t: AuditLogTarget): TargetKey | undefined {
  const kind = targetKindOf(t);
  if (kind === undefined) return undefined;
  const r = t[kind] as unknown as Record<string, unknown>;
  const parentField = TARGET_KIND_TABLE[kind].parent;
  const parent = parentField === undefined ? undefined : r[parentField];
  const parentId =
    typeof parent === "object" && parent !== null ? str((parent as { id?: unknown }).id) : str(parent);
  return {
    kind: TARGET_KINDS.indexOf(kind),
    id: str(r.id),
    appId: str(r.appId),
    userId: str(r.userId),
    parentId,
  };
}

/** The key of a target in REST JSON (`{"model": {"id": …, "app_id": …}}`), as {@link targetKey} gives it decoded. */
export function jsonTargetKey(t: Readonly<Record<string, unknown>>): TargetKey | undefined {
  for (const name in t) {
    const kind = JSON_KINDS.get(name);
    const r = t[name] as Record<string, unknown> | undefined | null;
    if (kind === undefined || r === undefined || r === null) continue;
    const parent = kind.parent === undefined ? undefined : r[kind.parent];
    return {
      kind: kind.index,
      id: str(r.id),
      appId: str(r.app_id),
      userId: str(r.user_id),
      parentId:
        typeof parent === "object" && parent !== null ? str((parent as { id?: unknown }).id) : str(parent),
    };
  }
  return undefined;
}

/** Per JSON kind name: its index in TARGET_KINDS and the snake_case name of its parent field. */
const JSON_KINDS = new Map(
  TARGET_KINDS.map((kind, index) => {
    const parent = TARGET_KIND_TABLE[kind].parent;
    return [TARGET_KIND_JSON_NAMES[kind], { index, parent: parent && camelToSnake(parent) }] as const;
  }),
);

const APP_KIND = TARGET_KINDS.indexOf("app");
/** Per kind index: the index of its parent's kind, or -1. */
const PARENT_KIND = TARGET_KINDS.map((k) => {
  const parentKind = TARGET_KIND_TABLE[k].parentKind;
  return parentKind === undefined ? -1 : TARGET_KINDS.indexOf(parentKind);
});

/**
 * Whether an entry target can be what filter `wanted` names, before its siblings are looked at:
 * the same kind and id, and every scope id the filter sets either equal or left empty on the
 * target (an app or parent the entry may record as a sibling). The user id has no sibling.
 */
export function targetMayMatch(t: TargetKey, wanted: TargetKey): boolean {
  return (
    t.kind === wanted.kind &&
    t.id === wanted.id &&
    (wanted.appId === "" || t.appId === wanted.appId || t.appId === "") &&
    (wanted.userId === "" || t.userId === wanted.userId) &&
    (wanted.parentId === "" || t.parentId === wanted.parentId || t.parentId === "")
  );
}

/**
 * Whether an entry with these targets matches filter target `wanted` (the one definition the
 * emulator and the rules share). A target of the filter's kind and id must carry each scope id
 * the filter sets, or leave it empty while the entry holds that app or parent as a sibling target:
 * Clarifai records "model m in app a" as `model {id: m, app_id: ""}` beside `app {id: a}`
 * (resources.proto: "when creating a new model, the targets would be the application and the model").
 */
export function entryHasTarget(targets: readonly (TargetKey | undefined)[], wanted: TargetKey): boolean {
  const sibling = (kind: number, id: string): boolean =>
    targets.some((s) => s !== undefined && s.kind === kind && s.id === id);
  return targets.some(
    (t) =>
      t !== undefined &&
      targetMayMatch(t, wanted) &&
      (wanted.appId === "" || t.appId === wanted.appId || sibling(APP_KIND, wanted.appId)) &&
      (wanted.parentId === "" ||
        t.parentId === wanted.parentId ||
        sibling(PARENT_KIND[wanted.kind] as number, wanted.parentId)),
  );
}
