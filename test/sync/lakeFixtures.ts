/** What the lake's store tests hand a commit: an identity, and the state of a run in progress. */

import type { SyncIdentity, SyncState } from "../../packages/cli/src/sync/store.js";
import type { ExportCursor } from "../../packages/client/src/export/sink.js";

export const IDENTITY: SyncIdentity = { userId: "u1", endpoint: "localhost:1", query: {} };

/**
 * The state of a run walking one slice from `from` to 2100, with `totals` as they were before the
 * commit (the store adds what it inserts).
 */
export function runState(
  from: string,
  totals: SyncState["totals"] = { entries: 0, late: 0, runs: 0 },
): SyncState {
  const cursor: ExportCursor = {
    version: 1,
    window: { from, to: "2100-01-01T00:00:00Z", pinnedAt: "2026-01-01T00:00:00Z" },
    slice: { from, to: "2100-01-01T00:00:00Z", last: true },
    page: 1,
    boundaryKeys: [],
    sliceDone: false,
    complete: false,
  };
  return {
    version: 1,
    identity: IDENTITY,
    totals,
    run: { cursor, startedAt: "2026-01-01T00:00:00Z" },
    updatedAt: new Date().toISOString(),
  };
}
