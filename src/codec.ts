/**
 * The response codec used by the client's gRPC method definition. One module so that a faster
 * decoder can replace the generated one in a single place, proven equal by property tests.
 */
import {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../generated/proto/clarifai/api/service.js";

export function decodeSearchResponse(bytes: Uint8Array): MultiAuditLogEntryResponse {
  return MultiAuditLogEntryResponse.decode(bytes);
}

export function encodeSearchRequest(request: PostAuditLogSearchesRequest): Buffer {
  const bytes = PostAuditLogSearchesRequest.encode(request).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
