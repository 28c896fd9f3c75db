/**
 * The codec: audit-log messages between protobuf bytes, ts-proto objects and Clarifai's REST JSON.
 * Code outside src/codec imports it from here.
 *
 * - Binary (packages/client/src/codec/searchCodec.ts): the RPC's request and reply, one entry from a range of a reply.
 * - Reply bytes (packages/client/src/codec/replyBytes.ts): a reply split into its status and undecoded entries.
 * - REST JSON, the reference (packages/client/src/codec/restJson.ts): any message to and from the JSON Clarifai prints.
 * - JSON lines, fast (packages/client/src/codec/entryPrinter.ts for objects, packages/client/src/codec/jsonlTranscoder.ts for bytes):
 *   byte-identical to the reference, generated from the descriptors (packages/client/src/codec/codegen.ts).
 * - REST JSON → bytes, fast (packages/client/src/codec/restJsonEncoder.ts): a parsed entry straight to its wire
 *   bytes, byte-identical to the reference mapping plus ts-proto's encode, generated the same way.
 */
export { entriesToJsonl, entryToJsonLine } from "./entryPrinter.js";
export { auditLogEntryBytesToJson, JsonlPageEncoder, prepareJsonTranscoder } from "./jsonlTranscoder.js";
export { type RawEntry, type RawReply, splitSearchReply } from "./replyBytes.js";
export {
  auditLogEntryFromJson,
  auditLogEntryToJson,
  binaryToClarifaiJson,
  type JsonValue,
  searchRequestFromJson,
} from "./restJson.js";
export { type RestJsonEncoder, restJsonEncoder } from "./restJsonEncoder.js";
export { decodeAuditLogEntry, decodeSearchResponse, encodeSearchRequest } from "./searchCodec.js";
export { varintSize, writeVarint } from "./varint.js";
