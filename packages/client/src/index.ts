/**
 * @clarifai-audit/client: a typed, lossless client for Clarifai's Audit Log API. The export engine
 * is `@clarifai-audit/client/export`, the local emulator the `@clarifai-audit/emulator` package.
 * @packageDocumentation
 */

// What integrators use: requests built without a call, pages left as entry bytes, the reference JSON.
export type { RawAuditLogPage } from "./client/client.js";
// What applications use: the client, its queries and pages, entries and their JSON, errors.
export { AuditLogClient, type AuditLogPage, type CallOptions } from "./client/client.js";
export type { AuditLogClientOptions } from "./client/config.js";
export type { AuditLogSearchQuery } from "./client/query.js";
export { buildSearchRequest } from "./client/query.js";
export type { RequestEvent } from "./client/requestEvent.js";
export type { RetryOptions } from "./client/retry.js";
export {
  auditLogEntryBytesToJson,
  auditLogEntryFromJson,
  auditLogEntryToJson,
  entryToJsonLine,
  type RawEntry,
} from "./codec/index.js";
export type { AuditEntry } from "./domain/entry.js";
export { AuditUsageError, ClarifaiAuditError, type UsageProblem } from "./domain/errors.js";
export type { OperationInput } from "./domain/operations.js";
export type { TargetInput } from "./domain/targets.js";
export { formatTimestamp, parseTimestamp, type TimeInput, type Timestamp } from "./domain/time.js";
export {
  AuthenticationError,
  CanceledError,
  ClarifaiError,
  InvalidRequestError,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "./errors.js";
