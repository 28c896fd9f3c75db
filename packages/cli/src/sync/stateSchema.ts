/**
 * JSON Schemas of the sync state ({@link SyncState}) and of the engine cursor it carries: one
 * definition, checked where the lake's state file and PostgreSQL's state row are read
 * (packages/client/src/state/stateReader.ts).
 */

import { COUNT, PRINTABLE, TIMESTAMP } from "@clarifai-audit/client/internal/state/schemaParts.js";

/** The engine's cursor (packages/client/src/export/sink.ts ExportCursor). */
export const CURSOR_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "window", "slice", "page", "boundaryKeys", "sliceDone", "complete"],
  properties: {
    version: { const: 1 },
    window: {
      type: "object",
      additionalProperties: false,
      required: ["from", "to", "pinnedAt"],
      properties: { from: TIMESTAMP, to: TIMESTAMP, pinnedAt: TIMESTAMP },
    },
    slice: {
      type: "object",
      additionalProperties: false,
      required: ["from", "to", "last"],
      properties: { from: TIMESTAMP, to: TIMESTAMP, last: { type: "boolean" } },
    },
    page: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    boundary: TIMESTAMP,
    boundaryKeys: { type: "array", items: { type: "string", maxLength: 1000 } },
    sliceDone: { type: "boolean" },
    complete: { type: "boolean" },
    stats: {
      type: "object",
      additionalProperties: false,
      required: ["entries", "pages", "retries", "shiftedPages", "repeated", "stale"],
      properties: {
        entries: COUNT,
        pages: COUNT,
        retries: COUNT,
        shiftedPages: COUNT,
        repeated: COUNT,
        stale: COUNT,
        requests: COUNT,
      },
    },
  },
} as const;

/** {@link SyncState} (packages/cli/src/sync/store.ts). */
export const SYNC_STATE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "identity", "totals", "updatedAt"],
  properties: {
    version: { const: 1 },
    identity: {
      type: "object",
      additionalProperties: false,
      required: ["userId", "endpoint", "query"],
      properties: { userId: PRINTABLE, endpoint: PRINTABLE, query: { type: "object" } },
    },
    highWater: TIMESTAMP,
    run: {
      type: "object",
      additionalProperties: false,
      required: ["cursor", "startedAt"],
      properties: { cursor: CURSOR_SCHEMA, startedAt: TIMESTAMP },
    },
    totals: {
      type: "object",
      additionalProperties: false,
      required: ["entries", "late", "runs"],
      properties: { entries: COUNT, late: COUNT, runs: COUNT },
    },
    updatedAt: TIMESTAMP,
  },
} as const;

/** Why `state` cannot be right though each field is: [pointer, problem], or undefined. */
export function syncStateProblem(
  state: { totals: { entries: number; late: number } },
  at: string,
): [string, string] | undefined {
  if (state.totals.late > state.totals.entries)
    return [
      `${at}/totals/late`,
      `is ${state.totals.late}, more than the ${state.totals.entries} entries stored`,
    ];
  return undefined;
}
