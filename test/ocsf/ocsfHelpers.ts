/**
 * Shared by the OCSF tests: the validators compiled from the vendored schema (test/ocsf/compileOcsf.ts),
 * entries to map, and the mapping of an entry through both of its paths (decoded entry, JSON line).
 */
import { expect } from "@jest/globals";
import {
  AuditLogEntry,
  AuditLogTarget,
} from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { parseTarget, TARGET_KINDS, type TargetKind } from "../../packages/client/src/domain/targets.js";
import { ocsfEventJson, ocsfEventJsonOfLine, toOcsfEvent } from "../../packages/client/src/ocsf/index.js";
import { type OcsfValidator, ocsfValidators } from "./compileOcsf.js";

/** The classes the mapping emits, by class_uid → OCSF name. */
export const CLASS_NAMES: Record<number, string> = {
  3001: "account_change",
  3004: "entity_management",
  3005: "user_access",
  3006: "group_management",
  6003: "api_activity",
};
const PROFILES = ["datetime"];

/** Validators by class_uid, compiled on first use (once per test file). */
let compiled: Map<number, OcsfValidator> | undefined;
export function validators(): Map<number, OcsfValidator> {
  if (compiled !== undefined) return compiled;
  const byName = ocsfValidators(Object.values(CLASS_NAMES), PROFILES);
  compiled = new Map(
    Object.entries(CLASS_NAMES).map(([uid, name]) => [Number(uid), byName.get(name) as OcsfValidator]),
  );
  return compiled;
}

/** The validation errors of an event against the schema of the class it names (`[]` when valid). */
export function errorsOf(event: Record<string, unknown>): string[] {
  const validate = validators().get(event.class_uid as number);
  if (validate === undefined) return [`no compiled class ${String(event.class_uid)}`];
  if (validate(event)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

/** One target of every kind, with every scope field its kind has. */
export const ALL_TARGETS: AuditLogTarget[] = TARGET_KINDS.map((kind: TargetKind) => {
  const fields: Record<string, string> = { id: `${kind}-1` };
  if (kind === "team" || kind === "role")
    return { [kind]: { id: `${kind}-1`, name: `The ${kind}` } } as AuditLogTarget;
  if (kind === "nodepool") fields.computeClusterId = "cluster-1";
  else if (kind === "moduleVersion")
    Object.assign(fields, { moduleId: "module-1", appId: "app-1", userId: "owner" });
  else if (kind === "workflowVersion") Object.assign(fields, { workflowId: "workflow-1", appId: "app-1" });
  else if (kind !== "user") fields.userId = "owner";
  return AuditLogTarget.fromPartial(parseTarget({ [kind]: fields } as never, "t"));
});

/** An entry of `operation` with every field set (one target of every kind), `over` replacing fields. */
export function entryOf(operation: number, over: Partial<AuditLogEntry> = {}): AuditLogEntry {
  return AuditLogEntry.fromPartial({
    timestamp: { seconds: 1_737_115_495, nanos: 449_860_123 },
    user: { id: "alfrick", firstName: "Alfrick", lastName: "Opidi", primaryEmail: "alfrick@example.com" },
    operation,
    description: "Something happened",
    targets: ALL_TARGETS,
    details: ["Changed 'x'"],
    success: true,
    reqId: "req-123",
    sourceIp: "3.234.120.41",
    ...over,
  });
}

/** The event of an entry (context: account acme, the entry key as id), checked equal on both paths. */
export function eventOf(
  entry: AuditLogEntry,
  context = { account: "acme", entryId: "" },
): Record<string, unknown> {
  const line = entryToJsonLine(entry);
  const ctx = { ...context, entryId: context.entryId || lineKey(line) };
  const fromEntry = toOcsfEvent(entry, line, ctx);
  // The exporters' path (from the JSON line) and the decoded path give the same text.
  expect(ocsfEventJsonOfLine(line, ctx)).toBe(ocsfEventJson(entry, line, ctx));
  return JSON.parse(JSON.stringify(fromEntry)) as Record<string, unknown>;
}
