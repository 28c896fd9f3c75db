/**
 * The store of a syslog destination: the at-least-once delivery core
 * (packages/cli/src/sync/delivery/deliveryStore.ts) over the syslog transport (./transport.ts).
 * The local state file (`statePath`) is required: it holds the cursor and the keys of the entries
 * delivered, which a syslog receiver cannot be asked for.
 */

import { createDeliveryStore } from "../delivery/deliveryStore.js";
import { readCaFile } from "../delivery/tlsTrust.js";
import type { DestinationOptions } from "../destinationOptions.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import { syslogTransport } from "./transport.js";
import type { SyslogTarget } from "./url.js";

/** Extra options of {@link createSyslogStore} (tests, the collector). */
export interface SyslogStoreExtras {
  /** Entries per commit (the bound on repeats after a crash): see createDeliveryStore. */
  commitEntries?: number;
  signal?: AbortSignal;
}

/** Makes the store of `target`; throws SyncUsageError (one line) for a missing state file or a bad `ca`. */
export async function createSyslogStore(
  target: SyslogTarget,
  o: DestinationOptions & SyslogStoreExtras,
): Promise<SyncStore> {
  if (o.statePath === undefined || o.statePath === "")
    throw new SyncUsageError({
      input: "statePath",
      problem: `${target.description} needs a local state file (the cursor and the keys of the entries delivered)`,
      allowed: "a file path",
    });
  if (o.ca !== undefined && !target.tls)
    throw new SyncUsageError({
      input: "ca",
      problem: `${target.description} is plain TCP: a CA file is for syslog+tls:// only`,
    });
  const ca = o.ca !== undefined ? await readCaFile(o.ca) : undefined;
  return createDeliveryStore({
    statePath: o.statePath,
    transport: syslogTransport(target, {
      ...(ca !== undefined ? { ca } : {}),
      ...(o.account !== undefined ? { account: o.account } : {}),
    }),
    format: o.format,
    destination: target.description,
    ...(o.account !== undefined ? { account: o.account } : {}),
    ...(o.commitEntries !== undefined ? { commitEntries: o.commitEntries } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  });
}
