/**
 * The at-least-once core of the stream destinations (syslog, Splunk HEC): a {@link SyncStore} that
 * sends each new entry as one message through a {@link DeliveryTransport} and keeps, in a local
 * state file (./deliveryState.ts), the sync state and the keys of the entries delivered in the
 * reconcile window.
 *
 * A commit skips the entries whose keys the file holds (the reconcile window offers entries again),
 * builds one message per new entry (its JSON, or its OCSF event), sends them all and waits for the
 * transport to confirm them, and only then replaces the state file (cursor and keys together). A
 * failed send writes nothing: the commit rejects, and the entries are offered again by the next run.
 *
 * The bound (at least once): a SIGKILL (or a crash, a power cut) after the destination confirmed a
 * commit's messages and before the state file was replaced (crash point `delivery.sent`) leaves
 * the file at the commit before; the next run offers that commit's entries again and sends them
 * again. So at most the entries of the last commit are delivered twice, each time with the same
 * entry id (ExportEntry.key()) for the receiver to dedupe on: a commit holds fewer than
 * `commitEntries` + one page (the sync commits once `commitEntries` are buffered, whole pages), so
 * at most `commitEntries + perPage − 1` entries. A transport that resends a batch after a dropped
 * connection (syslog) may repeat entries of the commit in flight too, within the same bound. Nothing
 * is lost: an entry's key enters the file only after the transport confirmed it.
 */

import { formatTimestampExact } from "@clarifai-audit/client/internal/domain/time.js";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";
import { ocsfEventJsonOfLine } from "@clarifai-audit/client/internal/ocsf/index.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { EntryFormat } from "../destinationOptions.js";
import { KeyWindow, stateAfter } from "../keyWindow.js";
import { checkStateOwner, StateFileLock } from "../localState.js";
import { type SyncCommit, type SyncStore, SyncUsageError } from "../store.js";
import {
  type DeliveryState,
  newDeliveryState,
  readDeliveryState,
  writeDeliveryState,
} from "./deliveryState.js";

/** One entry as a message. */
export interface DeliveryMessage {
  /** The entry key (ExportEntry.key(): 22 base64url characters): the receiver's dedupe id. */
  id: string;
  /** The entry's timestamp, RFC 3339 with 9 fractional digits. */
  timestamp: string;
  /** The entry's JSON line, or its OCSF event (no newline). */
  body: string;
  entry: ExportEntry;
}

/** What the store hands a transport when it connects. */
export interface DeliverySession {
  /** The state file's channel UUID, stable for the file's life (HEC: X-Splunk-Request-Channel). */
  channel: string;
}

/** How messages reach a destination. */
export interface DeliveryTransport {
  readonly description: string;
  /** Connects and proves the destination accepts us (TLS, token): SyncUsageError for a refusal. */
  connect(session?: DeliverySession): Promise<void>;
  /**
   * Delivers in order; resolves once the destination confirmed all (HEC: indexer-acknowledged when
   * on); retries transient failures with backoff, rejects when it gives up.
   */
  send(messages: readonly DeliveryMessage[], signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** An entry's OCSF event as one JSON text (the ocsf slice's ocsfEventJson). */
export type OcsfEncoder = (entry: ExportEntry, context: { account?: string; entryId: string }) => string;

/** The OCSF 1.8 event of an entry, from its JSON line (packages/client/src/ocsf/). */
const ocsfOfEntry: OcsfEncoder = (entry, context) => ocsfEventJsonOfLine(entry.json(), context);

/** Options of {@link createDeliveryStore}. */
export interface DeliveryStoreOptions {
  /** The local state file (cursor, keys of the reconcile window, channel). */
  statePath: string;
  transport: DeliveryTransport;
  format: EntryFormat;
  /** The collector's account whose entries are delivered; absent for `sync`. */
  account?: string;
  /** The destination's description (no secret), stored in the state file: a file of another destination is refused. */
  destination: string;
  /** Makes a message's body for `format: "ocsf"` (default: the OCSF mapping of packages/client/src/ocsf/). */
  ocsf?: OcsfEncoder;
  /** Entries per commit (default 2000): also the bound on entries sent twice after a crash. */
  commitEntries?: number;
  /** Ends a send in flight (the commit rejects; nothing is marked delivered). */
  signal?: AbortSignal;
}

/** Default entries per commit: large enough for 20,000 entries/s, small enough to bound repeats. */
export const DELIVERY_COMMIT_ENTRIES = 2000;

/** The store: see the module comment. */
export function createDeliveryStore(o: DeliveryStoreOptions): SyncStore {
  const path = o.statePath;
  const label = o.destination;
  const body = bodyOf(o);
  const lock = new StateFileLock(path, [path], label, "another sync is delivering to");
  let connected = false;
  let open: { file: DeliveryState; keys: KeyWindow } | undefined;

  const store: SyncStore = {
    description: label,
    commitEntries: o.commitEntries ?? DELIVERY_COMMIT_ENTRIES,

    async open(identity) {
      await lock.take();
      try {
        // Read afresh at every open: a failed commit may have left memory ahead of the file.
        let file = await readDeliveryState(path);
        if (file !== undefined)
          checkStateOwner(
            path,
            "the delivery state",
            { account: file.account, destination: file.destination, identity: file.state?.identity },
            {
              account: o.account,
              destination: label,
              identity,
              reader: "this sync",
              remedy: "use the former filters, or another state file",
            },
          );
        let keys: KeyWindow;
        try {
          keys = file !== undefined ? KeyWindow.load(file) : KeyWindow.empty();
        } catch (error) {
          throw new SyncUsageError(`${path} is damaged (${(error as Error).message}); nothing was sent`);
        }
        const saved = file !== undefined;
        file ??= newDeliveryState(label, o.account);
        if (!connected) {
          await o.transport.connect({ channel: file.channel });
          connected = true;
        }
        // Written once the destination accepted us (a refusal leaves no file), before any commit:
        // the channel must outlive a crash before the first commit.
        if (!saved) await writeDeliveryState(path, file);
        open = { file, keys };
        return file.state;
      } catch (error) {
        await store.close();
        throw error;
      }
    },

    async commit(commit: SyncCommit) {
      const held = open;
      if (held === undefined) throw new Error(`${label}: the delivery store is not open`);
      // Memory runs ahead of the file until it is written: a failure makes the next open read it again.
      const reopenFirst = (error: unknown): never => {
        open = undefined;
        throw error;
      };
      const { fresh, late } = held.keys.admit(commit.entries, commit.lateAtOrBefore);
      if (fresh.length > 0) {
        const messages = fresh.map(
          (entry): DeliveryMessage => ({
            id: entry.key(),
            timestamp: formatTimestampExact(entry.timestamp),
            body: body(entry),
            entry,
          }),
        );
        await o.transport.send(messages, o.signal).catch(reopenFirst);
      }
      crashPoint("delivery.sent");
      held.keys.forget(commit.forgetKeysBefore);
      const file: DeliveryState = {
        ...held.file,
        state: stateAfter(commit.state, fresh.length, late),
        ...held.keys.save(),
      };
      await writeDeliveryState(path, file).catch(reopenFirst);
      held.file = file;
      crashPoint("delivery.state-written");
      return { inserted: fresh.length, late };
    },

    async close() {
      open = undefined;
      if (connected) {
        connected = false;
        await o.transport.close();
      }
      await lock.release();
    },

    hold() {
      lock.hold();
    },

    async release() {
      lock.unhold();
      await store.close();
    },
  };
  return store;
}

/** How an entry becomes a message's body. */
function bodyOf(o: DeliveryStoreOptions): (entry: ExportEntry) => string {
  if (o.format === "json") return (entry) => entry.json();
  const ocsf = o.ocsf ?? ocsfOfEntry;
  const account = o.account;
  return (entry) => ocsf(entry, { ...(account !== undefined ? { account } : {}), entryId: entry.key() });
}
