/**
 * The AWS Security Lake layout (`s3://BUCKET/PREFIX?layout=security-lake&account_id=…`): the log as
 * OCSF 1.8 events in zstd Parquet, laid out as Security Lake's custom sources read them:
 *
 *   PREFIX/ext/SOURCE-CLASS_UID/region=REGION/accountId=ACCOUNT_ID/eventDay=YYYYMMDD/NAME.parquet
 *
 * One custom source per OCSF class (Security Lake registers a custom source with one event class,
 * and a Parquet file holds events of one class), `eventDay` the UTC day of the entries' own
 * timestamps. NAME is the stream layout's (`clarifai-audit[-ACCOUNT]-STREAM-SEQ-PART`): the commit
 * protocol, its state and its recovery are the stream layout's (streamStore.ts), only the objects'
 * grouping, names and bytes differ (this module, and ocsfParquet.ts for the bytes).
 */

import { ocsfClassOf, ocsfEventJson } from "@clarifai-audit/client/internal/ocsf/index.js";
import type { DestinationOptions } from "../destinationOptions.js";
import { type SyncStore, SyncUsageError } from "../store.js";
import { OcsfParquetWriter } from "./ocsfParquet.js";
import { accountPart, hourFolder, type StreamObjectFormat } from "./streamLayout.js";
import { createS3ObjectStore, type StreamStoreOptions } from "./streamStore.js";
import { AWS_REGION_PATTERN, type S3Target, type SecurityLakeTarget } from "./url.js";

/** The folder Security Lake keeps custom (external) sources in. */
export const SECURITY_LAKE_EXT = "ext";

/** The partition values of the objects: the target's, with the region resolved. */
export interface SecurityLakePartitions {
  source: string;
  region: string;
  accountId: string;
}

/** `YYYYMMDD` (UTC) of an instant in nanoseconds. */
export function eventDay(ns: bigint): string {
  return hourFolder(ns).slice(0, 10).replace(/\//g, "");
}

/** The custom source's folder of OCSF class `classUid`, relative to PREFIX. */
export function sourceFolder(p: SecurityLakePartitions, classUid: number): string {
  return `${SECURITY_LAKE_EXT}/${p.source}-${classUid}`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The Security Lake object format of `p` (see the module's comment). */
export function securityLakeFormat(
  p: SecurityLakePartitions,
  account: string | undefined,
): StreamObjectFormat {
  const writer = new OcsfParquetWriter();
  const partitions = `region=${p.region}/accountId=${p.accountId}`;
  const own = (acct: string | undefined) =>
    new RegExp(
      `^${escapeRegex(`${SECURITY_LAKE_EXT}/${p.source}-`)}([0-9]+)/${escapeRegex(partitions)}/eventDay=[0-9]{8}/${escapeRegex(`clarifai-audit${accountPart(acct)}-`)}[0-9a-f]{8}-[0-9]{10}-[0-9]{3}\\.parquet$`,
    );
  const classOfGroup = (group: string) => Number(/^[^/]+\/[^/]*-([0-9]+)\//.exec(group)?.[1]);
  return {
    lines: "ocsf",
    contentType: "application/vnd.apache.parquet",
    place(entry, ns) {
      const decoded = entry.decode();
      const { classUid } = ocsfClassOf(decoded.operation);
      const line = ocsfEventJson(decoded, entry.json(), {
        ...(account !== undefined ? { account } : {}),
        entryId: entry.key(),
      });
      return { group: `${sourceFolder(p, classUid)}/${partitions}/eventDay=${eventDay(ns)}`, line };
    },
    objectKey: (o) =>
      `${o.group}/clarifai-audit${accountPart(o.account)}-${o.stream}-${String(o.seq).padStart(10, "0")}-${String(o.part).padStart(3, "0")}.parquet`,
    isOwn: (key, acct) => own(acct).test(key),
    body: (group, lines) => writer.parquet(classOfGroup(group), lines),
    // Sources by class, then days: one listing of the custom sources' folder.
    readBackPrefixes: () => [`${SECURITY_LAKE_EXT}/`],
    rawLines: (body) => writer.rawLines(body),
    close: () => writer.close(),
  };
}

/** The region of the partitions: the URL's, else the AWS chain's variables; refused when neither. */
function regionOf(target: S3Target, t: SecurityLakeTarget, env: DestinationOptions["env"]): string {
  const region = t.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || !AWS_REGION_PATTERN.test(region))
    throw SyncUsageError.store(
      `${target.description}: layout=security-lake needs region= in the URL (or AWS_REGION), an AWS Region such as us-east-1, for the region= partition`,
    );
  return region;
}

/** The Security Lake store of `target` (made by store.ts); its events are OCSF whatever `format` says. */
export function createSecurityLakeStore(target: S3Target, o: StreamStoreOptions): SyncStore {
  const t = target.securityLake;
  if (t === undefined) throw new Error("createSecurityLakeStore: not a security-lake target");
  const p = { source: t.source, accountId: t.accountId, region: regionOf(target, t, o.env) };
  return createS3ObjectStore(target, { ...o, format: "ocsf" }, securityLakeFormat(p, o.account));
}
