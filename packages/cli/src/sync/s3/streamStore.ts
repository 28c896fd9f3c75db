/** The stream layout of an `s3://` destination. STUB: replaced by the s3stream slice. */
import type { DestinationOptions } from "../destination.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import type { S3Target } from "./url.js";

/** Makes the stream-layout store of `target`. */
export async function createS3StreamStore(target: S3Target, _o: DestinationOptions): Promise<SyncStore> {
  throw SyncUsageError.store(`${target.description}: the stream layout is not built yet`);
}
