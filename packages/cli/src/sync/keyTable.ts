/**
 * The entry keys a store remembers to skip what it already holds when the reconcile window offers
 * entries again (SyncCommit.forgetKeysBefore says when a key may go): one format for every store
 * that keeps them in its own state (the lake's state file, the collector's alert checkpoints).
 */

/** Key records: a 16-character base64url prefix of an entry key (96 bits) → timestamp ns. */
export type KeyTable = Map<string, bigint>;

/** Bytes of one encoded record: 8 (timestamp, ns, big-endian) + 12 (the key's first 96 bits). */
const RECORD = 20;
const KEY_NS_MIN = -(2n ** 63n);
/** The largest timestamp a key record holds: one saved so stands for any instant from it on. */
export const KEY_NS_MAX = 2n ** 63n - 1n;

/** The part of an entry key (ExportEntry.key(), 22 base64url characters) a table holds. */
export function keyPrefix(entryKey: string): string {
  return entryKey.slice(0, 16);
}

/**
 * Encodes a {@link KeyTable} as base64 records. A timestamp outside the record's 64 bits (before
 * 1677-09-21, after 2262-04-11) is saved as the nearest one it holds: a key is forgotten when its
 * timestamp is before a bound, which an earlier one still is and a later one, saved as
 * {@link KEY_NS_MAX}, is never taken to be (the store keeps those keys).
 */
export function encodeKeys(keys: KeyTable): string {
  const buf = Buffer.allocUnsafe(keys.size * RECORD);
  let at = 0;
  for (const [prefix, ns] of keys) {
    buf.writeBigInt64BE(ns < KEY_NS_MIN ? KEY_NS_MIN : ns > KEY_NS_MAX ? KEY_NS_MAX : ns, at);
    buf.write(prefix, at + 8, 12, "base64url");
    at += RECORD;
  }
  return buf.toString("base64");
}

/** Decodes {@link encodeKeys}'s text (check it with {@link encodedKeysProblem} first). */
export function decodeKeys(text: string): KeyTable {
  const buf = Buffer.from(text, "base64");
  if (buf.length % RECORD !== 0)
    throw new Error(`keys: ${buf.length} bytes is not a whole number of records`);
  const keys: KeyTable = new Map();
  for (let at = 0; at < buf.length; at += RECORD) {
    keys.set(buf.toString("base64url", at + 8, at + RECORD), buf.readBigInt64BE(at));
  }
  return keys;
}

/**
 * What is wrong with encoded keys, or undefined. Only canonical base64 of whole records passes: a
 * lenient decode of damaged text would drop keys, and the entries they stand for would be taken twice.
 */
export function encodedKeysProblem(text: string): string | undefined {
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) return "is not base64";
  if (bytes.length % RECORD !== 0)
    return `holds ${bytes.length} bytes, not a whole number of ${RECORD}-byte key records`;
  return undefined;
}

/** Forgets the keys of entries dated before `beforeNs` (SyncCommit.forgetKeysBefore). */
export function forgetKeys(keys: KeyTable, beforeNs: bigint): void {
  // A key saved at BIGINT's maximum stands for any later instant (encodeKeys): it stays.
  for (const [prefix, ns] of keys) if (ns < beforeNs && ns !== KEY_NS_MAX) keys.delete(prefix);
}
