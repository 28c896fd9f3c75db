/**
 * The response codec used by the client's gRPC method definition. One module so that a faster
 * decoder can replace the generated one in a single place, proven equal by property tests.
 */

import type { MultiAuditLogEntryResponse } from "../../generated/proto/clarifai/api/service.js";
import { PostAuditLogSearchesRequest } from "../../generated/proto/clarifai/api/service.js";
import { decodeSearchResponseFast } from "./decoder.js";

/**
 * Decodes a PostAuditLogSearches reply. Same objects as ts-proto's
 * `MultiAuditLogEntryResponse.decode` (test/codec/decoder.test.ts), from a decoder generated from the
 * descriptors that hands anything unusual back to ts-proto.
 */
export function decodeSearchResponse(bytes: Uint8Array): MultiAuditLogEntryResponse {
  return decodeSearchResponseFast(bytes);
}

/** Encodes a PostAuditLogSearches request (ts-proto), as a Buffer for grpc-js. */
export function encodeSearchRequest(request: PostAuditLogSearchesRequest): Buffer {
  const bytes = PostAuditLogSearchesRequest.encode(request).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
