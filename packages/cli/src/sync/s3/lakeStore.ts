/**
 * The lake layout of an `s3://BUCKET/PREFIX` destination: the local lake's store (lake/store.ts:
 * table, partitions, schema version, state file and commit protocol) over S3 objects
 * (lakeStorage.ts).
 */
import type { DestinationOptions } from "../destinationOptions.js";
import { createLakeStoreOn } from "../lake/store.js";
import type { SyncStore } from "../store.js";
import type { LockTiming } from "./lakeLock.js";
import { s3LakeStorage } from "./lakeStorage.js";
import type { S3Target } from "./url.js";

/** Makes the lake-layout store of `target` (nothing is opened before the store's `open`). */
export async function createS3LakeStore(
  target: S3Target,
  o: DestinationOptions & { lock?: LockTiming },
): Promise<SyncStore> {
  const storage = s3LakeStorage(target, { env: o.env, ...(o.lock !== undefined ? { lock: o.lock } : {}) });
  return createLakeStoreOn(storage, {
    ...(o.memory !== undefined ? { memory: o.memory } : {}),
    ...(o.sign !== undefined ? { sign: o.sign } : {}),
  });
}
