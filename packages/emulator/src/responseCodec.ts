/**
 * Server-side encoding of MultiAuditLogEntryResponse from the entries' cached bytes. The generated
 * serializer would re-encode every entry object on each page; this writes the status, then each
 * entry as field 2 (tag 0x12, varint length, cached bytes) into one buffer. The result is byte for
 * byte what `MultiAuditLogEntryResponse.encode` produces (test/emulator/responseCodec.test.ts).
 */

import { varintSize, writeVarint } from "@clarifai-audit/client/internal/codec/index.js";
import { Status } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/status/status.js";
import { V2Service } from "./v2Grpc.js";

/** A reply ready to serialize: the status and the encoded entries, in reply order. */
export interface PreparedResponse {
  status: Status;
  entries: Uint8Array[];
}

/** Encodes a {@link PreparedResponse} as a MultiAuditLogEntryResponse. */
export function serializePreparedResponse(r: PreparedResponse): Buffer {
  const status = Status.encode(r.status).finish();
  let total = 1 + varintSize(status.length) + status.length;
  for (const e of r.entries) total += 1 + varintSize(e.length) + e.length;
  const out = Buffer.allocUnsafe(total);
  out[0] = 0x0a;
  let pos = writeVarint(out, 1, status.length);
  out.set(status, pos);
  pos += status.length;
  for (const e of r.entries) {
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, e.length);
    out.set(e, pos);
    pos += e.length;
  }
  return out;
}

/** The generated V2 service definition with the server-side response serializer swapped in. */
export const EmulatorV2Service = {
  postAuditLogSearches: {
    ...V2Service.postAuditLogSearches,
    responseSerialize: serializePreparedResponse,
  },
} as const;
