/**
 * The store of an `s3://` destination: the Parquet lake (`layout=lake`, the default: lakeStore.ts)
 * or gzip JSON lines for SIEM ingesters (`layout=stream`: streamStore.ts), or OCSF Parquet in AWS
 * Security Lake's custom-source layout (`layout=security-lake`: securityLake.ts). Each layout's module is
 * loaded only when chosen.
 */
import type { DestinationOptions } from "../destinationOptions.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import type { LockTiming } from "./lakeLock.js";
import type { S3Target } from "./url.js";

/** What an S3 store is made with: a destination's options, and (tests) the lake's lock timing. */
export type S3StoreOptions = DestinationOptions & { lock?: LockTiming };

/** Makes the store of `target`'s layout; nothing is opened before the store's `open`. */
export async function createS3Store(target: S3Target, o: S3StoreOptions): Promise<SyncStore> {
  if (target.layout === "security-lake") {
    // OCSF whatever `format` says: Security Lake holds OCSF events only.
    const { createSecurityLakeStore } = await import("./securityLake.js");
    return createSecurityLakeStore(target, o);
  }
  if (target.layout === "stream") {
    const { createS3StreamStore } = await import("./streamStore.js");
    return createS3StreamStore(target, o);
  }
  if (o.format !== "json")
    throw SyncUsageError.store(
      `${target.description}: the lake layout holds the entries' JSON only (format json)`,
    );
  const { createS3LakeStore } = await import("./lakeStore.js");
  return createS3LakeStore(target, o);
}
