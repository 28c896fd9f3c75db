/** The store of a syslog destination. STUB: replaced by the syslog slice. */
import type { DestinationOptions } from "../destination.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import type { SyslogTarget } from "./url.js";

export async function createSyslogStore(target: SyslogTarget, _o: DestinationOptions): Promise<SyncStore> {
  throw SyncUsageError.store(`${target.description}: syslog destinations are not built yet`);
}
