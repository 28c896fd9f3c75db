/** The lake layout of an `s3://` destination. STUB: being built by the s3lake slice. */
import type { DestinationOptions } from "../destination.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import type { S3Target } from "./url.js";

/** Makes the lake-layout store of `target`. */
export async function createS3LakeStore(target: S3Target, _o: DestinationOptions): Promise<SyncStore> {
  throw SyncUsageError.store(`${target.description}: the lake layout is not built yet`);
}
