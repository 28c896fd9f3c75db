/**
 * The local state file of an at-least-once delivery store (packages/cli/src/sync/delivery/deliveryStore.ts:
 * syslog, Splunk HEC): whose it is (destination, account), the sync state once a commit was
 * delivered, the keys of the entries delivered in the reconcile window, and a stable channel id.
 * Replaced atomically (write a temporary file, fsync, rename, fsync the folder): a reader sees one
 * commit or the next.
 */
import { randomUUID } from "node:crypto";
import { PRINTABLE } from "@clarifai-audit/client/internal/state/schemaParts.js";
import { readLocalState, SAVED_KEYS_PROPERTIES, writeLocalState } from "../localState.js";
import { SYNC_STATE_SCHEMA } from "../stateSchema.js";
import type { SyncState } from "../store.js";

const KIND = "clarifai-audit-delivery";
/** The version this code writes and reads. */
export const DELIVERY_STATE_VERSION = 1;

/** The delivery state file's content. */
export interface DeliveryState {
  kind: typeof KIND;
  schemaVersion: number;
  /** The destination's description (no secret): a file of another destination is refused. */
  destination: string;
  /** The collector's account; absent for `sync`. */
  account?: string;
  /**
   * A UUID made with the file and kept for its life: a transport that names its session to the
   * destination (HEC's X-Splunk-Request-Channel) uses it, so acknowledgements stay on one channel.
   */
  channel: string;
  /** The sync state as of the last delivered commit; absent until the first one. */
  state?: SyncState;
  /** Keys of the entries delivered in the reconcile window (packages/cli/src/sync/keyTable.ts). */
  keys: string;
  /** Keys of entries dated before this instant (ns) were forgotten (packages/cli/src/sync/keyWindow.ts). */
  keysFrom?: string;
}

const UUID = {
  type: "string",
  pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
  description: "a lower-case UUID",
} as const;

/** The JSON Schema of {@link DeliveryState}. */
export const DELIVERY_STATE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "schemaVersion", "destination", "channel", "keys"],
  properties: {
    kind: { const: KIND },
    schemaVersion: { type: "integer", minimum: 1, maximum: DELIVERY_STATE_VERSION },
    destination: PRINTABLE,
    account: PRINTABLE,
    channel: UUID,
    state: SYNC_STATE_SCHEMA,
    ...SAVED_KEYS_PROPERTIES,
  },
} as const;

/** A new state file's content for `destination` (and `account`), with a fresh channel. */
export function newDeliveryState(destination: string, account: string | undefined): DeliveryState {
  return {
    kind: KIND,
    schemaVersion: DELIVERY_STATE_VERSION,
    destination,
    ...(account !== undefined ? { account } : {}),
    channel: randomUUID(),
    keys: "",
  };
}

/**
 * Reads and checks the state file at `path` (a regular file, bounded, schema, keys well-formed);
 * undefined when there is none. Throws SyncUsageError (one line naming the file and the field) for
 * anything else, before anything is sent.
 */
export function readDeliveryState(path: string): Promise<DeliveryState | undefined> {
  return readLocalState<DeliveryState>(path, {
    schema: DELIVERY_STATE_SCHEMA,
    kind: KIND,
    version: DELIVERY_STATE_VERSION,
    what: "a clarifai-audit delivery state file",
    refusal: "nothing was sent (a damaged delivery state file)",
  });
}

/** Replaces the state file atomically and durably. */
export function writeDeliveryState(path: string, state: DeliveryState): Promise<void> {
  return writeLocalState(path, state);
}
