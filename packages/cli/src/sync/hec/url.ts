/** `splunk+https://HOST:PORT[?index=…]`. STUB: replaced by the hec slice. */
import { SyncUsageError } from "../store.js";

/** A checked HEC destination. */
export interface HecTarget {
  host: string;
  port: number;
  /** `splunk+http://` (plain HTTP) is for loopback tests only; false is the norm. */
  plain: boolean;
  index?: string;
  /** For messages: the URL (never the token). */
  description: string;
}

export function parseHecUrl(text: string): HecTarget {
  throw SyncUsageError.store(`${text.split("?")[0]}: Splunk HEC destinations are not built yet`);
}
