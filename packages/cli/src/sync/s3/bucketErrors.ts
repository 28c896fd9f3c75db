/**
 * An S3 request's failure as one line: the destination refused us (no bucket, bad or missing
 * credentials) → {@link SyncUsageError} (exit 2, nothing to retry); the network or the server failed
 * → a plain Error (exit 1, a later run may succeed). Only the error's code and HTTP status are
 * quoted, never the server's text (which may echo a request's signing material).
 */
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { redact } from "@clarifai-audit/client/internal/domain/redact.js";
import { SyncUsageError } from "../store.js";

/** A conditional write lost: the object changed (If-Match) or exists (If-None-Match) since it was read. */
export class PreconditionFailedError extends ClarifaiAuditError {
  override name = "PreconditionFailedError";
}

/** Codes that say the credentials are wrong, expired, or not allowed here. */
const DENIED = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "AccountProblem",
  "Forbidden",
]);

/** Network errors' codes (Node's and the SDK's), which become "cannot reach". */
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "TimeoutError",
  "RequestTimeout",
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Whether `error` is a lost If-Match / If-None-Match (412, or 409 for a concurrent conditional write). */
export function isPreconditionFailure(error: unknown): boolean {
  const e = error as SdkError;
  return (
    e?.name === "PreconditionFailed" ||
    e?.name === "ConditionalRequestConflict" ||
    e?.$metadata?.httpStatusCode === 412
  );
}

/** Where a failure happened, for its message. */
export interface FailurePlace {
  destination: string;
  bucket: string;
  /** `writing KEY`, `listing …`. */
  what: string;
  /** The endpoint's host (never a credential). */
  endpoint: string;
}

/** See the module comment. */
export function describeS3Failure(error: unknown, at: FailurePlace): Error {
  if (error instanceof SyncUsageError) return error;
  const e = (error ?? {}) as SdkError;
  // The SDK wraps what is not an Error of its realm (jest's, a worker's) in a message quoting it.
  const quoted = /\b(E[A-Z]{3,}|TimeoutError)\b/.exec(String(e.message ?? ""))?.[1];
  const code = e.code ?? (e.name === "Error" && quoted !== undefined ? quoted : (e.name ?? "Error"));
  const status = e.$metadata?.httpStatusCode;
  if (code === "NoSuchBucket")
    return SyncUsageError.store(`${at.destination}: the bucket ${at.bucket} does not exist (NoSuchBucket)`);
  if (DENIED.has(code) || status === 403)
    return SyncUsageError.store(
      `${at.destination}: access denied (${code === "Error" || code === "Unknown" ? "HTTP 403" : code}); check the AWS credentials and the bucket's policy`,
    );
  if (code === "CredentialsProviderError")
    return SyncUsageError.store(
      `${at.destination}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use SSO or an instance role)`,
    );
  if (NETWORK.has(code) || e.$metadata === undefined || status === undefined) {
    const cause = NETWORK.has(code) ? code : redact(String(e.message ?? code)).split("\n")[0];
    return new Error(`${at.destination}: cannot reach ${at.endpoint} while ${at.what} (${cause})`);
  }
  return new Error(`${at.destination}: ${at.what} failed (${code}, HTTP ${status})`);
}
