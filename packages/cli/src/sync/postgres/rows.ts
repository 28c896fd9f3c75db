/**
 * The rows the PostgreSQL store writes: COPY text of a batch (timestamps as exact nanoseconds, as
 * TIMESTAMPTZ text and as exact 9-digit text, the operation read from the entry bytes, NULs replaced) and the canonical
 * JSON of a query.
 */
import { type Clock, systemClock } from "@clarifai-audit/client/internal/domain/clock.js";
import { operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import {
  formatTimestamp,
  formatTimestampExact,
  type Timestamp,
} from "@clarifai-audit/client/internal/domain/time.js";
import { fitsInt64, parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";

/** `lateAtOrBefore` as the exact text `timestamp_text` compares with; null when absent. */
export function lateBound(text: string | undefined): [string] | [null] {
  if (text === undefined) return [null];
  const ts = parseTs(text);
  if (ts === undefined) throw new Error(`lateAtOrBefore is not an RFC 3339 timestamp: ${text}`);
  return [formatTimestampExact(ts)];
}

/** A promise that resolves after `ms` on `clock`. */
export function sleep(ms: number, clock: Clock = systemClock): Promise<void> {
  return clock.sleep(ms);
}

/** Exact nanoseconds since the epoch as COPY text; `\N` (NULL) outside BIGINT (before 1677, after 2262). */
export function timestampNsText(ts: Timestamp): string {
  const ns = tsToNs(ts);
  return fitsInt64(ns) ? ns.toString() : "\\N";
}

/**
 * The TIMESTAMPTZ text of a timestamp, truncated to microseconds (PostgreSQL's precision, and
 * Clarifai's), printed with integer arithmetic: PostgreSQL parses it, no JS Date in between.
 */
export function timestampText(ts: Timestamp): string {
  return formatTimestamp({ seconds: ts.seconds, nanos: ts.nanos - (ts.nanos % 1000) });
}

/**
 * The `operation` field (3, an enum varint) of a serialized AuditLogEntry, read by walking the
 * top-level fields: decoding the whole entry for one number would cost more than the rest of the
 * row. The last occurrence wins, as in protobuf; absent is 0.
 */
export function operationOf(bytes: Uint8Array): number {
  let op = 0;
  let i = 0;
  const n = bytes.length;
  const varint = (): number => {
    let lo = 0;
    let shift = 0;
    let b: number;
    do {
      if (i >= n) throw new Error("truncated entry");
      b = bytes[i++];
      if (shift < 32) lo |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return lo;
  };
  while (i < n) {
    const tag = varint() >>> 0;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 3) op = v;
    } else if (wire === 2) {
      const len = varint() >>> 0;
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return op;
}

// An odd run of backslashes before u0000 is an escaped NUL (an even run is escaped backslashes).
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;
const COPY_CHUNK = 1 << 20;

/**
 * The COPY text rows of a batch: tab-separated, backslashes doubled (JSON lines hold no raw tabs or
 * newlines). PostgreSQL's text and jsonb cannot hold U+0000, so an escaped NUL in an entry's JSON
 * is stored as U+FFFD (the entry key, computed from the original line, is unchanged).
 */
export function copyChunks(entries: readonly ExportEntry[]): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: string[] = [];
  let size = 0;
  for (const e of entries) {
    let json = e.json();
    if (json.includes("\\")) {
      if (json.includes("\\u0000")) json = json.replace(NUL_ESCAPE, "$1\\ufffd");
      json = json.replaceAll("\\", "\\\\");
    }
    const op = operationOf(e.bytes);
    const line = `${e.key()}\t${timestampNsText(e.timestamp)}\t${timestampText(e.timestamp)}\t${formatTimestampExact(e.timestamp)}\t${op}\t${operationName(op)}\t${json}\n`;
    parts.push(line);
    size += line.length;
    if (size >= COPY_CHUNK) {
      chunks.push(Buffer.from(parts.join("")));
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) chunks.push(Buffer.from(parts.join("")));
  return chunks;
}
