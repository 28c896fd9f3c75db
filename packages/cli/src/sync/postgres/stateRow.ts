/**
 * The state row read back from `clarifai_audit_sync_state` is state like any state file: checked
 * against the sync state's schema (packages/cli/src/sync/stateSchema.ts) by the one reader of state
 * (packages/client/src/state/stateReader.ts) before the sync acts on it. A row edited by hand, or written by a
 * damaged client, is one line naming the row and the field, exit 2, and nothing is written.
 *
 * Here too: the key of a store's row (table, account, user id, endpoint, query), reading it and
 * writing a commit's state into it.
 */
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { StateFileError, validateState } from "@clarifai-audit/client/internal/state/stateReader.js";
import type pg from "pg";
import { SYNC_STATE_SCHEMA, syncStateProblem } from "../stateSchema.js";
import { type SyncIdentity, type SyncState, SyncUsageError } from "../store.js";
import type { Names } from "./schema.js";

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

/** Which row of the state table a store keeps: its table, account and synced log. */
export interface StateKey {
  names: Names;
  account: string;
  identity: SyncIdentity;
  /** Canonical JSON of `identity.query`. */
  query: string;
}

/** The key's columns as `$1`…`$5`, in the order of {@link keyParams}. */
export const KEY_WHERE = "table_name = $1 AND account = $2 AND user_id = $3 AND endpoint = $4 AND query = $5";

/** The parameters of {@link KEY_WHERE}. */
export function keyParams(k: StateKey): string[] {
  return [k.names.bare, k.account, k.identity.userId, k.identity.endpoint, k.query];
}

/**
 * The store's state row: its state (undefined in a row a fenced store claimed before its first
 * commit), the id of its last commit, what that commit inserted, and the fence (greatest fencing
 * token that claimed it; undefined: never fenced).
 */
export interface StoredStateRow {
  state: SyncState | undefined;
  commitId: string;
  inserted: number;
  late: number;
  fence: number | undefined;
}

/** Reads and checks the row of `k` (undefined: none); `where` names the destination in messages. */
export async function readStateRow(
  c: pg.Client,
  k: StateKey,
  where: string,
): Promise<StoredStateRow | undefined> {
  // SQL NULL (a claimed row), not the JSON null a damaged row may hold: both arrive as null.
  const r = await c.query<StateRowColumns & { fence: string | null; claimed: boolean }>(
    `SELECT state, commit_id, inserted, late, fence, state IS NULL AS claimed FROM ${k.names.state}
     WHERE ${KEY_WHERE}`,
    keyParams(k),
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  const fence = row.fence === null ? undefined : Number(row.fence);
  if (row.claimed) return { state: undefined, commitId: String(row.commit_id), inserted: 0, late: 0, fence };
  const account = k.account === "" ? "" : `, account ${k.account}`;
  const checked = await checkStateRow(
    row,
    k.identity,
    `${where}: the row of ${k.names.state} for table ${k.names.bare}${account}, user ${k.identity.userId}`,
  );
  return {
    state: checked.state,
    commitId: checked.commit_id as string,
    inserted: Number(checked.inserted),
    late: Number(checked.late),
    fence,
  };
}

/** What a commit writes into its state row. */
export interface StateWrite {
  state: string;
  commitId: string;
  inserted: number;
  late: number;
  /** The commit id the row must still hold (null: the row must not exist yet). */
  previous: string | null;
  /** The fencing token of a fenced store (the row keeps its fence otherwise). */
  fence?: number;
}

/**
 * Writes a commit's state into the row of `k`, only if the row still holds `w.previous` (another
 * writer's state is never overwritten). False when it did not.
 */
export async function writeStateRow(c: pg.Client, k: StateKey, w: StateWrite): Promise<boolean> {
  const fence = w.fence === undefined ? null : String(w.fence);
  const r =
    w.previous === null
      ? await c.query(
          `INSERT INTO ${k.names.state} (table_name, account, user_id, endpoint, query, state, commit_id, inserted,
             late, fence, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, now()) ON CONFLICT DO NOTHING`,
          [...keyParams(k), w.state, w.commitId, w.inserted, w.late, fence],
        )
      : await c.query(
          `UPDATE ${k.names.state} SET state = $6::jsonb, commit_id = $7, inserted = $8, late = $9,
             fence = coalesce($10::bigint, fence), updated_at = now()
           WHERE ${KEY_WHERE} AND commit_id = $11`,
          [...keyParams(k), w.state, w.commitId, w.inserted, w.late, fence, w.previous],
        );
  return r.rowCount === 1;
}
