/**
 * clarifai-audit: a typed, lossless client for Clarifai's Audit Log API.
 * @packageDocumentation
 */
export { auditLogEntryFromJson, auditLogEntryToJson } from "./protoJson.js";
