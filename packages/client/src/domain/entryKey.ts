/**
 * Audit-log entries carry no id, and one `req_id` is shared by every entry a request produced, so the
 * exporter and `tail` recognise an entry they have already written by a composite key: a hash of its
 * timestamp (to the nanosecond), req_id, operation, targets and details, plus the remaining fields so
 * that two entries differing anywhere are never merged. Byte-identical entries are one entry.
 */
import { hash } from "node:crypto";

/**
 * The dedupe key of the entry whose canonical JSON line is `line`: base64url SHA-256 (first 128
 * bits). `entryKey` of packages/client/src/codec/entryKey.ts prints the line of an entry object first.
 */
export function lineKey(line: string): string {
  // crypto.hash: one call, no Hash object per entry (about 5× createHash on short lines).
  return hash("sha256", line, "base64url").slice(0, 22);
}

/**
 * {@link lineKey} of the line whose UTF-8 bytes are `bytes[start, end)` (the same key: the hash is of
 * those bytes either way), for a store that holds lines as bytes rather than strings.
 */
export function lineBytesKey(bytes: Buffer, start = 0, end = bytes.length): string {
  return hash("sha256", bytes.subarray(start, end), "base64url").slice(0, 22);
}
