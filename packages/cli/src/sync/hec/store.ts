/** The store of a Splunk HEC destination. STUB: replaced by the hec slice. */
import type { DestinationOptions } from "../destination.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import type { HecTarget } from "./url.js";

export async function createHecStore(target: HecTarget, _o: DestinationOptions): Promise<SyncStore> {
  throw SyncUsageError.store(`${target.description}: Splunk HEC destinations are not built yet`);
}
