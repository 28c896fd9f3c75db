/**
 * The binary codec of the one RPC, as the client's gRPC method and the exporter use it: ts-proto's
 * generated code. (A decoder generated from the descriptors was 1.3–1.4× faster at decoding and was
 * removed: bench/notes.md.)
 */
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../../generated/proto/clarifai/api/service.js";

/** Decodes a PostAuditLogSearches reply. */
export function decodeSearchResponse(bytes: Uint8Array): MultiAuditLogEntryResponse {
  return MultiAuditLogEntryResponse.decode(bytes);
}

/** Encodes a PostAuditLogSearches request, as a Buffer for grpc-js. */
export function encodeSearchRequest(request: PostAuditLogSearchesRequest): Buffer {
  const bytes = PostAuditLogSearchesRequest.encode(request).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes the `AuditLogEntry` serialized in `source[start, end)` (e.g. one entry's range of a reply). */
export function decodeAuditLogEntry(source: Uint8Array, start: number, end: number): AuditLogEntry {
  return AuditLogEntry.decode(source.subarray(start, end));
}
