/**
 * The checkpoint of the collector's alert store (packages/cli/src/collector/alertStore.ts), one file
 * per (alert destination, account): the sync state, the keys of the entries evaluated in the
 * reconcile window, the rules' state and the outbox (alerts of the last commit, written before any
 * is sent). Replaced atomically (write a temporary file, fsync, rename, fsync the folder): a reader
 * sees one commit or the next, never a mix, so alerts and the state that produced them go together.
 */
import { PRINTABLE } from "@clarifai-audit/client/internal/state/schemaParts.js";
import { readLocalState, SAVED_KEYS_PROPERTIES, writeLocalState } from "../sync/localState.js";
import { SYNC_STATE_SCHEMA } from "../sync/stateSchema.js";
import type { SyncState } from "../sync/store.js";
import type { Alert } from "../watch/alert.js";
import { EVALUATOR_STATE_SCHEMA, OUTBOX_SCHEMA } from "../watch/checkpoint.js";
import type { EvaluatorState } from "../watch/evaluator.js";

const KIND = "clarifai-audit-alerts";
/** The version this code writes and reads. */
export const ALERT_CHECKPOINT_VERSION = 1;

/** The checkpoint file's content. */
export interface AlertCheckpoint {
  kind: typeof KIND;
  schemaVersion: number;
  /** The account and the destination it belongs to: a file copied to another's place is refused. */
  account: string;
  destination: string;
  state: SyncState;
  /** The evaluator's saved state (threshold windows, learned values). */
  rules: EvaluatorState;
  /** Alerts of the last commit; delivered after the file was written, cleared by the next commit. */
  outbox: Alert[];
  /** Keys of the entries evaluated (packages/cli/src/sync/keyTable.ts). */
  keys: string;
  /**
   * Keys of entries dated before this instant (ns) were forgotten: such an entry, if offered again,
   * is taken as evaluated (see the store's module comment). Absent: none forgotten yet.
   */
  keysFrom?: string;
}

/** The JSON Schema of {@link AlertCheckpoint}. */
export const ALERT_CHECKPOINT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "schemaVersion", "account", "destination", "state", "rules", "outbox", "keys"],
  properties: {
    kind: { const: KIND },
    schemaVersion: { type: "integer", minimum: 1, maximum: ALERT_CHECKPOINT_VERSION },
    account: PRINTABLE,
    destination: PRINTABLE,
    state: SYNC_STATE_SCHEMA,
    rules: EVALUATOR_STATE_SCHEMA,
    outbox: OUTBOX_SCHEMA,
    ...SAVED_KEYS_PROPERTIES,
  },
} as const;

/**
 * Reads and checks the checkpoint at `path` (a regular file, bounded, schema, keys well-formed);
 * undefined when there is none. Throws SyncUsageError (one line naming the file and the
 * field) for anything else, before anything is written.
 */
export function readAlertCheckpoint(path: string): Promise<AlertCheckpoint | undefined> {
  return readLocalState<AlertCheckpoint>(path, {
    schema: ALERT_CHECKPOINT_SCHEMA,
    kind: KIND,
    version: ALERT_CHECKPOINT_VERSION,
    what: "a clarifai-audit alert checkpoint",
    refusal: "nothing was changed (a damaged alert checkpoint)",
  });
}

/** Replaces the checkpoint atomically and durably. */
export function writeAlertCheckpoint(path: string, checkpoint: AlertCheckpoint): Promise<void> {
  return writeLocalState(path, checkpoint);
}
