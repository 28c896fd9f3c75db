/**
 * The state row read back from `clarifai_audit_sync_state` is state like any state file: checked
 * against the sync state's schema (packages/cli/src/sync/stateSchema.ts) by the one reader of state
 * (packages/client/src/state/stateReader.ts) before the sync acts on it. A row edited by hand, or written by a
 * damaged client, is one line naming the row and the field, exit 2, and nothing is written.
 */
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { StateFileError, validateState } from "@clarifai-audit/client/internal/state/stateReader.js";
import { SYNC_STATE_SCHEMA, syncStateProblem } from "../stateSchema.js";
import { type SyncIdentity, type SyncState, SyncUsageError } from "../store.js";

/** The row's columns the store reads. */
export interface StateRowColumns {
  state: unknown;
  commit_id: unknown;
  inserted: unknown;
  late: unknown;
}

const ROW_SCHEMA = {
  type: "object",
  required: ["state", "commit_id", "inserted", "late"],
  properties: {
    state: SYNC_STATE_SCHEMA,
    commit_id: { type: "string", minLength: 1, maxLength: 200 },
    // bigint columns arrive as text.
    inserted: { type: "string", pattern: "^[0-9]{1,18}$", description: "a count" },
    late: { type: "string", pattern: "^[0-9]{1,18}$", description: "a count" },
  },
} as const;

/**
 * Checks a state row of `identity` (`where` names it: the destination, the table and the identity).
 * @throws SyncUsageError naming the row and the first field at fault.
 */
export async function checkStateRow<T extends StateRowColumns>(
  row: T,
  identity: SyncIdentity,
  where: string,
): Promise<T & { state: SyncState }> {
  try {
    return await validateState<T & { state: SyncState }>(
      row,
      {
        schema: ROW_SCHEMA,
        check: (r) => {
          if (canonicalJson(r.state.identity) !== canonicalJson(identity))
            return ["/state/identity", "is not the identity of the row that holds it"];
          return syncStateProblem(r.state, "/state");
        },
      },
      where,
    );
  } catch (error) {
    if (error instanceof StateFileError)
      throw new SyncUsageError(`${error.message}; nothing was changed (a damaged sync state row)`);
    throw error;
  }
}
