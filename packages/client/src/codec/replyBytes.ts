/**
 * A `PostAuditLogSearches` reply split into its status and the byte ranges of its entries, without
 * decoding the entries: the exporter's JSONL path only needs each entry's timestamp (to walk slices)
 * and its bytes (to transcode them with src/codec/jsonTranscoder.ts), and building ts-proto objects
 * for a million entries is most of an export's CPU and garbage.
 *
 * Anything unusual in the framing (or a timestamp this reader does not take exactly) is handed to
 * ts-proto, so a well-formed reply yields ts-proto's status and timestamps, and a truncated one
 * throws as ts-proto would (test/codec/replyBytes.test.ts). One difference on corrupt input: a
 * field-number-0 or end-group tag inside an entry makes ts-proto stop that entry early and read its
 * remaining bytes as reply fields; here the reply's framing decides where each entry ends, and the
 * entry's own bytes are printed (or refused) by the transcoder.
 */
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../generated/proto/clarifai/api/service.js";
import { Status } from "../../generated/proto/clarifai/api/status/status.js";
import { readVarint, skipVarint, UNREADABLE_VARINT, varintEnd } from "./varint.js";

/**
 * One entry of a reply: its timestamp (as ts-proto decodes it) and where its serialized bytes are.
 * An export holds a few thousand of these at a time, so each is one small object: its bytes are a
 * range of the reply, and a view of them is made only when asked for (`bytes`).
 */
export class RawEntry {
  constructor(
    /** The buffer holding the entry: the reply, shared by the entries of a page. */
    readonly source: Uint8Array,
    /** Where the serialized `AuditLogEntry` starts in `source`. */
    readonly start: number,
    /** Where it ends (exclusive). */
    readonly end: number,
    readonly timestamp: { seconds: number; nanos: number } | undefined,
  ) {}

  /** The serialized `AuditLogEntry` (a new view into `source` on each access). */
  get bytes(): Uint8Array {
    return this.source.subarray(this.start, this.end);
  }
}

/** A reply's status (decoded) and its entries (undecoded). */
export interface RawReply {
  status: Status | undefined;
  entries: RawEntry[];
}

/** Hands a reply or an entry to ts-proto: the varint reader's signal, so one check covers both. */
const SLOW = UNREADABLE_VARINT;

/** Timestamp `{1: int64 seconds, 2: int32 nanos}` in `[pos, end)`; only non-negative values. */
function timestamp(src: Uint8Array, pos: number, end: number): { seconds: number; nanos: number } {
  let seconds = 0;
  let nanos = 0;
  while (pos < end) {
    const tag = readVarint(src, pos, end);
    if (tag === 8) seconds = readVarint(src, varintEnd, end);
    else if (tag === 16) {
      nanos = readVarint(src, varintEnd, end);
      if (nanos > 0x7fffffff) throw SLOW;
    } else throw SLOW;
    pos = varintEnd;
  }
  if (pos !== end) throw SLOW;
  return { seconds, nanos };
}

/** The timestamp of the entry in `src[start, end)`: field 1, last occurrence wins (as ts-proto). */
function entryTimestamp(src: Uint8Array, start: number, end: number): RawEntry["timestamp"] {
  let ts: RawEntry["timestamp"];
  let pos = start;
  while (pos < end) {
    const tag = readVarint(src, pos, end);
    if (tag < 8) throw SLOW;
    pos = varintEnd;
    switch (tag & 7) {
      case 0:
        skipVarint(src, pos, end);
        pos = varintEnd;
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = readVarint(src, pos, end);
        // `varintEnd` is shared with timestamp(), which moves it: keep this field's bounds first.
        const s = varintEnd;
        const e = s + len;
        if (e > end) throw SLOW;
        if (tag === 10) ts = timestamp(src, s, e);
        pos = e;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw SLOW;
    }
  }
  if (pos !== end) throw SLOW;
  return ts;
}

/**
 * The entry's timestamp as the fast reader takes it, or `"slow"` when it hands the entry to ts-proto.
 * For tests: well-formed entries must never need the slow path.
 */
export function fastEntryTimestamp(entry: Uint8Array): RawEntry["timestamp"] | "slow" {
  try {
    return entryTimestamp(entry, 0, entry.byteLength);
  } catch (err) {
    if (err !== SLOW) throw err;
    return "slow";
  }
}

function slowEntry(reply: Uint8Array, start: number, end: number): RawEntry {
  const ts = AuditLogEntry.decode(reply.subarray(start, end)).timestamp;
  return new RawEntry(
    reply,
    start,
    end,
    ts === undefined ? undefined : { seconds: ts.seconds, nanos: ts.nanos },
  );
}

/** The reference path: ts-proto decodes the reply, each entry is re-encoded. */
function slowReply(bytes: Uint8Array): RawReply {
  const r = MultiAuditLogEntryResponse.decode(bytes);
  return {
    status: r.status,
    entries: r.entries.map((e) => {
      const bytes = AuditLogEntry.encode(e).finish();
      return new RawEntry(
        bytes,
        0,
        bytes.byteLength,
        e.timestamp === undefined ? undefined : { seconds: e.timestamp.seconds, nanos: e.timestamp.nanos },
      );
    }),
  };
}

/**
 * The framing of a reply, shared by every path that reads reply bytes without ts-proto: field 1
 * (the status) is decoded through a reader over the whole reply, as ts-proto does, so malformed
 * status bytes are caught by the position check; each field-2 entry's byte range goes to `entry`;
 * other fields are skipped. Returns undefined where the reply needs ts-proto: malformed framing or
 * status, a tag beyond 32 bits (ts-proto truncates those), or `entry` returning false.
 */
export function walkReplyFraming(
  bytes: Uint8Array,
  entry: (start: number, end: number) => boolean,
): { status: Status | undefined } | undefined {
  const end = bytes.byteLength;
  let status: Status | undefined;
  let pos = 0;
  try {
    while (pos < end) {
      const tag = readVarint(bytes, pos, end);
      if (tag < 8 || tag > 0xffffffff || (tag & 7) !== 2) throw SLOW;
      const len = readVarint(bytes, varintEnd, end);
      const s = varintEnd;
      const e = s + len;
      if (e > end) throw SLOW;
      if (tag === 10) {
        const reader = new BinaryReader(bytes);
        reader.pos = s;
        try {
          status = Status.decode(reader, len);
        } catch {
          throw SLOW;
        }
        if (reader.pos !== e) throw SLOW;
      } else if (tag === 18 && !entry(s, e)) {
        throw SLOW;
      }
      pos = e;
    }
  } catch (err) {
    if (err !== SLOW) throw err;
    return undefined;
  }
  return { status };
}

/**
 * Splits serialized `MultiAuditLogEntryResponse` bytes (the gRPC reply) into status and entries.
 * Throws where ts-proto's decode would.
 */
export function splitSearchReply(bytes: Uint8Array): RawReply {
  const entries: RawEntry[] = [];
  const framed = walkReplyFraming(bytes, (s, e) => {
    let ts: RawEntry["timestamp"];
    try {
      ts = entryTimestamp(bytes, s, e);
    } catch (err) {
      if (err !== SLOW) throw err;
      entries.push(slowEntry(bytes, s, e));
      return true;
    }
    entries.push(new RawEntry(bytes, s, e, ts));
    return true;
  });
  return framed === undefined ? slowReply(bytes) : { status: framed.status, entries };
}
