/** `s3://BUCKET/PREFIX[?layout=lake|stream…]`: parsed and checked before anything is opened. STUB: replaced by the s3 slice. */
import { SyncUsageError } from "../store.js";

/** A checked S3 destination. */
export interface S3Target {
  bucket: string;
  /** Without leading or trailing slash; "" for the bucket's root. */
  prefix: string;
  layout: "lake" | "stream";
  /** For messages: `s3://BUCKET/PREFIX` (and the layout when not the default). */
  description: string;
}

export function parseS3Url(text: string): S3Target {
  throw SyncUsageError.store(`${text}: S3 destinations are not built yet`);
}
