/**
 * RFC 3161 time-stamps on digests: asking an authority for a token over each digest's hash
 * (./stamper.ts, at signing) and checking a token offline with the certificates an auditor trusts
 * (./check.ts, at verify). The imprint is {SHA-256, the digest's hash}: the digest's canonical bytes
 * hashed once, that value stamped as it is.
 */

import type { Stamper } from "@clarifai-audit/client/internal/digest/chain.js";
import type { DigestTimestamp } from "@clarifai-audit/client/internal/digest/document.js";
import { checkTimestamp as check } from "./check.js";
import { createTsaStamper as create, type TsaOptions } from "./stamper.js";

export type { TsaOptions } from "./stamper.js";
export { TimestampError } from "./stamper.js";

/**
 * A {@link Stamper} asking `options.url` for a token over each digest hash. The options are checked
 * (and a CA file read) here, before any request.
 * @throws AuditUsageError (`tsa`, `ca`) for a URL that is not http(s) or an unreadable CA file;
 * the stamper rejects with TimestampError (one line naming the authority, redacted).
 */
export function createTsaStamper(options: TsaOptions): Stamper {
  return create(options);
}

/** What {@link checkTimestamp} found. */
export type TimestampCheck = { ok: true; genTime: string } | { ok: false; problem: string };

/**
 * Checks `stamp` offline: a token over `hash` (32 bytes), signed by a certificate among `tsaCerts`
 * (PEM texts) or issued by one, that may stamp time (extended key usage timeStamping). A problem is
 * one line starting `the time-stamp: `.
 * @throws AuditUsageError (`tsaCerts`) when a PEM text holds no certificate or a broken one
 */
export async function checkTimestamp(
  stamp: DigestTimestamp,
  hash: Buffer,
  tsaCerts: readonly string[],
): Promise<TimestampCheck> {
  return check(stamp, hash, tsaCerts);
}
