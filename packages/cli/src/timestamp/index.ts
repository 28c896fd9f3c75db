/**
 * RFC 3161 time-stamps on digests (PLACEHOLDER: the tsa slice replaces this module's bodies; the
 * signatures are the contract).
 */

import type { Stamper } from "@clarifai-audit/client/internal/digest/chain.js";
import type { DigestTimestamp } from "@clarifai-audit/client/internal/digest/document.js";

/** Options of {@link createTsaStamper}. */
export interface TsaOptions {
  /** The authority's URL (http or https; user-info is a secret, never printed). */
  url: string;
  /** A CA file (PEM) to trust for an https authority, beside the system's. */
  ca?: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A {@link Stamper} asking `options.url` for a token over each digest hash. */
export function createTsaStamper(options: TsaOptions): Stamper {
  void options;
  throw new Error("not implemented yet (tsa slice)");
}

/** What {@link checkTimestamp} found. */
export type TimestampCheck = { ok: true; genTime: string } | { ok: false; problem: string };

/**
 * Checks `stamp` offline: a token over `hash` (32 bytes), signed by a certificate among `tsaCerts`
 * (PEM texts) that may stamp time (extended key usage timeStamping).
 */
export async function checkTimestamp(
  stamp: DigestTimestamp,
  hash: Buffer,
  tsaCerts: readonly string[],
): Promise<TimestampCheck> {
  void stamp;
  void hash;
  void tsaCerts;
  throw new Error("not implemented yet (tsa slice)");
}
