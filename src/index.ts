/**
 * clarifai-audit: a typed, lossless client for Clarifai's Audit Log API.
 * @packageDocumentation
 */

export { AuditLogClient, type AuditLogPage, type CallOptions } from "./client/client.js";
export {
  type AuditLogClientOptions,
  DEFAULT_CHANNEL_OPTIONS,
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT_MS,
  ENV,
  isLoopbackHost,
  MAX_TIMEOUT_MS,
  parseEndpoint,
  type ResolvedConfig,
  resolveConfig,
} from "./client/config.js";
export { pinOpenRange } from "./client/pagination.js";
export {
  type AuditLogSearchQuery,
  type BoolValueLike,
  buildSearchRequest,
  requestFromValidated,
  type ValidatedQuery,
  validateQuery,
} from "./client/query.js";
export { backoffDelay, DEFAULT_RETRY, type RetryOptions, sleep, withRetry } from "./client/retry.js";
export { auditLogEntryFromJson, auditLogEntryToJson } from "./codec/index.js";
export { type AuditEntry, toAuditEntry } from "./domain/entry.js";
export { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "./domain/limits.js";
export {
  closestNames,
  OPERATIONS,
  type OperationInput,
  operationName,
  parseOperation,
} from "./domain/operations.js";
export { REDACTED, redact } from "./domain/redact.js";
export {
  parseTarget,
  TARGET_KINDS,
  type TargetFields,
  type TargetInput,
  type TargetKind,
  targetKindAndId,
} from "./domain/targets.js";
export {
  compareTimestamps,
  formatTimestamp,
  MAX_TIMESTAMP_SECONDS,
  MIN_TIMESTAMP_SECONDS,
  nowTimestamp,
  parseTimestamp,
  type TimeInput,
  type Timestamp,
  type TimestampLike,
} from "./domain/time.js";
export {
  AuthenticationError,
  CanceledError,
  ClarifaiError,
  type ClarifaiErrorInit,
  errorClassForCode,
  errorFromGrpc,
  errorFromStatus,
  InvalidRequestError,
  isRetryableCode,
  PermissionError,
  RateLimitError,
  ServerError,
  statusCodeName,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "./errors.js";
