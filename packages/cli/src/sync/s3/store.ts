/** The store of an `s3://` destination: the lake or the stream layout. STUB: replaced by the s3 slices. */
import type { DestinationOptions } from "../destination.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import type { S3Target } from "./url.js";

export async function createS3Store(target: S3Target, _o: DestinationOptions): Promise<SyncStore> {
  throw SyncUsageError.store(`${target.description}: S3 destinations are not built yet`);
}
