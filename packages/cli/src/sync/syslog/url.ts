/** `syslog://HOST:PORT` and `syslog+tls://HOST:PORT`. STUB: replaced by the syslog slice. */
import { SyncUsageError } from "../store.js";

/** A checked syslog destination. */
export interface SyslogTarget {
  host: string;
  port: number;
  tls: boolean;
  /** For messages: the URL. */
  description: string;
}

export function parseSyslogUrl(text: string): SyslogTarget {
  throw SyncUsageError.store(`${text}: syslog destinations are not built yet`);
}
