/**
 * The few scalar fields of an `AuditLogEntry` a stream destination puts in each message's header
 * (operation, success, req_id), read from the entry's protobuf bytes without decoding the rest: a
 * full ts-proto decode builds the user, targets and details only for them to be dropped, and was a
 * third of the syslog store's CPU per entry (bench/notes.md, "Issue 24: destinations").
 */
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { readVarint, skipVarint, UNREADABLE_VARINT, varintEnd } from "./varint.js";

/** What {@link entryHeaderFields} reads. */
export interface EntryHeaderFields {
  operation: number;
  success: boolean;
  reqId: string;
}

const SLOW: unique symbol = Symbol("slow");
const utf8 = new TextDecoder();

/** The fields as ts-proto would decode them; anything it reads otherwise goes to ts-proto. */
function fast(src: Uint8Array): EntryHeaderFields {
  let operation = 0;
  let success = false;
  let reqId = "";
  let pos = 0;
  const end = src.byteLength;
  while (pos < end) {
    const tag = readVarint(src, pos, end);
    pos = varintEnd;
    // Tag 0 ends ts-proto's decode where it stands; tags past 32 bits are truncated by it.
    if (tag === 0 || tag > 0xffffffff) throw SLOW;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 3 && wire === 0) {
      const v = readVarint(src, pos, end);
      // A negative enum (10 bytes) or one past int32: ts-proto's truncation is its own.
      if (v > 0x7fffffff) throw SLOW;
      operation = v;
      pos = varintEnd;
    } else if (field === 7 && wire === 0) {
      const b = src[pos] as number;
      // One-byte 0/1 (what every encoder writes); a longer bool varint goes to ts-proto.
      if (b > 1 || pos >= end) throw SLOW;
      success = b === 1;
      pos++;
    } else if (field === 8 && wire === 2) {
      const len = readVarint(src, pos, end);
      pos = varintEnd;
      if (pos + len > end) throw SLOW;
      reqId = utf8.decode(src.subarray(pos, pos + len));
      pos += len;
    } else if (wire === 0) {
      skipVarint(src, pos, end);
      pos = varintEnd;
    } else if (wire === 2) {
      const len = readVarint(src, pos, end);
      pos = varintEnd + len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw SLOW;
  }
  if (pos !== end) throw SLOW;
  return { operation, success, reqId };
}

/** The fields as the fast reader takes them, or `"slow"` where it hands them to ts-proto (for tests). */
export function fastEntryHeader(bytes: Uint8Array): EntryHeaderFields | "slow" {
  try {
    return fast(bytes);
  } catch (err) {
    if (err !== SLOW && err !== UNREADABLE_VARINT) throw err;
    return "slow";
  }
}

/**
 * `operation`, `success` and `reqId` of the serialized entry `bytes`, exactly as
 * `AuditLogEntry.decode(bytes)` has them (ts-proto decodes what the fast reader does not take).
 */
export function entryHeaderFields(bytes: Uint8Array): EntryHeaderFields {
  try {
    return fast(bytes);
  } catch (err) {
    if (err !== SLOW && err !== UNREADABLE_VARINT) throw err;
    const e = AuditLogEntry.decode(bytes);
    return { operation: e.operation, success: e.success, reqId: e.reqId };
  }
}
