/**
 * The report's view of an entry: the fields every export reader takes (packages/client/src/domain/exportedEntry.ts)
 * and the report's own grouping of operations into categories.
 */
import type { ExportedEntry } from "@clarifai-audit/client/internal/domain/exportedEntry.js";

/** The fields of an entry the report uses: an exported entry as every export reader reads it. */
export type ReportEntry = ExportedEntry;

/** The report's categories of operations, in chart order. */
export const CATEGORIES = [
  "organisation",
  "module",
  "model",
  "workflow",
  "application",
  "collaborator",
  "user",
  "compute",
  "other",
] as const;
/** One of {@link CATEGORIES}. */
export type Category = (typeof CATEGORIES)[number];

/**
 * The category of an operation. EventType codes are grouped by resource in hundreds (100s
 * organisation, 300s models, 900-1100 compute clusters, node pools and deployments); the names say
 * the same, and a code newer than these protos still lands by its hundred.
 */
export function categoryIndex(code: number): number {
  const group = Math.floor(code / 100);
  switch (group) {
    case 1:
      return 0;
    case 2:
      return 1;
    case 3:
      return 2;
    case 4:
      return 3;
    case 6:
      return 4;
    case 7:
      return 5;
    case 8:
      return 6;
    case 9:
    case 10:
    case 11:
      return 7;
    default:
      return 8;
  }
}

/** A deletion: an operation that deletes a resource (`*_DELETE`: modules, models, workflows, apps, teams, compute). */
export function isDeletion(entry: ReportEntry): boolean {
  return entry.operationName.endsWith("_DELETE");
}

/**
 * A membership or collaborator change: organisation members and invitations (100-106), team
 * members (110, 111) and app collaborators (700-702).
 */
export function isMembershipChange(entry: ReportEntry): boolean {
  const c = entry.operation;
  return (c >= 100 && c <= 106) || c === 110 || c === 111 || (c >= 700 && c <= 702);
}
