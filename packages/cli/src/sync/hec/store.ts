/**
 * The store of a Splunk HTTP Event Collector destination: the at-least-once delivery store
 * (../delivery/deliveryStore.ts: a local state file, the keys of the reconcile window, a pid lock,
 * the channel UUID the transport sends as X-Splunk-Request-Channel) over the HEC transport
 * (./transport.ts). Everything a user can get wrong (no state file, no
 * token, an unreadable CA file) is refused here, before anything connects.
 */
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { createDeliveryStore, type OcsfEncoder } from "../delivery/deliveryStore.js";
import { readCaFile } from "../delivery/tlsTrust.js";
import type { DestinationOptions } from "../destinationOptions.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import { createHecTransport, type HecTiming } from "./transport.js";
import { HEC_TOKEN_ENV, type HecTarget } from "./url.js";

export { HEC_TOKEN_ENV };

/** What {@link createHecStore} takes besides the destination's options (tests, the collector). */
export interface HecStoreExtras {
  /** Shorter waits (tests). */
  timing?: Partial<HecTiming>;
  /** Ends a send in flight (SIGINT/SIGTERM): the commit rejects and nothing is marked delivered. */
  signal?: AbortSignal;
  /** Makes a message's body for `format: "ocsf"` (the ocsf slice's encoder). */
  ocsf?: OcsfEncoder;
  /** Entries per commit (the delivery store's default when absent): the bound on repeats after a crash. */
  commitEntries?: number;
}

/** Makes the store of a HEC destination; refuses a missing state file, token or CA file in one line. */
export async function createHecStore(
  target: HecTarget,
  o: DestinationOptions & HecStoreExtras,
): Promise<SyncStore> {
  const token = o.hecToken;
  if (token === undefined || token.trim() === "")
    throw SyncUsageError.store(`${target.description}: no HEC token: set ${HEC_TOKEN_ENV}`);
  registerSecret(token);
  // A header value: anything but visible ASCII would be refused by Node or split the header.
  if (!/^[\x21-\x7e]+$/.test(token.trim()))
    throw SyncUsageError.store(
      `${target.description}: the HEC token (${HEC_TOKEN_ENV}) holds white space, control or non-ASCII characters`,
    );
  if (o.statePath === undefined || o.statePath === "")
    throw SyncUsageError.store(
      `${target.description}: a Splunk HEC destination keeps its cursor in a local state file: give \`statePath\``,
    );
  const ca = o.ca === undefined ? undefined : await readCaFile(o.ca);
  const transport = createHecTransport({
    target,
    token: token.trim(),
    tokenSource: o.hecTokenSource ?? HEC_TOKEN_ENV,
    ...(ca !== undefined ? { ca } : {}),
    sourcetype: target.sourcetype ?? (o.format === "ocsf" ? "clarifai:audit:ocsf" : "clarifai:audit"),
    ...(o.account !== undefined ? { account: o.account } : {}),
    ...(o.timing !== undefined ? { timing: o.timing } : {}),
  });
  return createDeliveryStore({
    statePath: o.statePath,
    transport,
    format: o.format,
    ...(o.account !== undefined ? { account: o.account } : {}),
    destination: target.description,
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    ...(o.ocsf !== undefined ? { ocsf: o.ocsf } : {}),
    ...(o.commitEntries !== undefined ? { commitEntries: o.commitEntries } : {}),
  });
}
