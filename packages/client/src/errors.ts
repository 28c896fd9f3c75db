/**
 * The error hierarchy. Every failure of a call is a {@link ClarifaiError} subclass chosen by family,
 * whether Clarifai reported it in `status.code` of a gRPC-OK reply or gRPC itself failed; bad input
 * is a {@link ValidationError}, raised before any network call.
 */
import { StatusCode } from "../generated/proto/clarifai/api/status/status_code.js";
import { ClarifaiAuditError } from "./domain/errors.js";
import { GrpcStatus } from "./domain/grpcStatus.js";
import { redact } from "./domain/redact.js";

// Bad input is refused by the domain's parsers too (times, targets, operations), so its class lives there.
export { ValidationError } from "./domain/errors.js";

/** Fields of a {@link ClarifaiError}, as passed to its constructor. */
export interface ClarifaiErrorInit {
  /** Clarifai status code (`StatusCode`); for transport failures, the nearest Clarifai code. */
  code: number;
  /** A short description (Clarifai's `status.description`, or gRPC's details). */
  description: string;
  /** Clarifai's `status.details`. */
  details?: string;
  /** Clarifai's `status.req_id`, when the server sent one. */
  reqId?: string;
  /** Clarifai's `status.developer_notes`. */
  developerNotes?: string;
  /** How many attempts the call made (1 = no retry). */
  attempts?: number;
  /** gRPC status code, for transport-level failures only. */
  grpcCode?: number;
  /** Whether a retry could succeed; defaults by family. */
  retryable?: boolean;
  /** The PAT, so that it is removed from any server text. */
  secret?: string;
  cause?: unknown;
}

/** Name of a Clarifai status code, e.g. `CONN_THROTTLED`; `UNKNOWN_STATUS_<n>` for unknown codes. */
function statusCodeName(code: number): string {
  const name = (StatusCode as unknown as Record<number, string | undefined>)[code];
  return name !== undefined && name !== "UNRECOGNIZED" ? name : `UNKNOWN_STATUS_${code}`;
}

/**
 * Base class of every error a call can end with (under the library's root, {@link ClarifaiAuditError}). Fields are stable; `message` reads
 * `CODE_NAME (code): description — details [req_id=…]`.
 */
export class ClarifaiError extends ClarifaiAuditError {
  override name = "ClarifaiError";
  /** Clarifai status code; for transport failures the nearest Clarifai code (see {@link grpcCode}). */
  readonly code: number;
  /** `StatusCode` name of {@link code}. */
  readonly codeName: string;
  readonly description: string;
  readonly details: string;
  readonly reqId: string;
  readonly developerNotes: string;
  /** Whether the client would retry this error (rate limit or unavailable). */
  readonly retryable: boolean;
  /** Attempts made before giving up. */
  attempts: number;
  /** gRPC status code when gRPC itself failed (UNAVAILABLE, DEADLINE_EXCEEDED, …). */
  readonly grpcCode?: number;

  constructor(init: ClarifaiErrorInit) {
    const description = redact(init.description, init.secret);
    const details = redact(init.details ?? "", init.secret);
    const codeName = statusCodeName(init.code);
    const reqId = init.reqId ?? "";
    super(
      `${codeName} (${init.code}): ${description}${details && details !== description ? ` — ${details}` : ""}${
        reqId ? ` [req_id=${reqId}]` : ""
      }`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.code = init.code;
    this.codeName = codeName;
    this.description = description;
    this.details = details;
    this.reqId = reqId;
    this.developerNotes = redact(init.developerNotes ?? "", init.secret);
    this.retryable = init.retryable ?? false;
    this.attempts = init.attempts ?? 1;
    if (init.grpcCode !== undefined) this.grpcCode = init.grpcCode;
  }

  /** Plain fields, so `JSON.stringify(error)` is useful (and, like every field, PAT-free). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      message: this.message,
      code: this.code,
      codeName: this.codeName,
      description: this.description,
      details: this.details,
      reqId: this.reqId,
      developerNotes: this.developerNotes,
      retryable: this.retryable,
      attempts: this.attempts,
    };
    if (this.grpcCode !== undefined) out.grpcCode = this.grpcCode;
    return out;
  }
}

/** The PAT is missing, invalid or not accepted (11001, 11002, 11008, 11009, 11200, gRPC UNAUTHENTICATED). */
export class AuthenticationError extends ClarifaiError {
  override name = "AuthenticationError";
}
/** The PAT lacks a scope, or the resource is not the caller's (11007, `*_PERMISSION_DENIED`). */
export class PermissionError extends ClarifaiError {
  override name = "PermissionError";
}
/** Throttled or over a limit (11003–11006). 11005/11006 are retried; quota exhaustion is not. */
export class RateLimitError extends ClarifaiError {
  override name = "RateLimitError";
}
/** The server refused the request (11100–11105, gRPC INVALID_ARGUMENT). */
export class InvalidRequestError extends ClarifaiError {
  override name = "InvalidRequestError";
}
/** The service could not take the request (40030, 40031, gRPC UNAVAILABLE); retried. */
export class UnavailableError extends ClarifaiError {
  override name = "UnavailableError";
}
/** The call's deadline passed (40032, gRPC DEADLINE_EXCEEDED). */
export class TimeoutError extends ClarifaiError {
  override name = "TimeoutError";
}
/** The caller aborted the call through its `AbortSignal`. */
export class CanceledError extends ClarifaiError {
  override name = "CanceledError";
}
/** Any other failure. */
export class ServerError extends ClarifaiError {
  override name = "ServerError";
}

type ErrorClass = new (init: ClarifaiErrorInit) => ClarifaiError;

const AUTH_CODES = new Set<number>([
  StatusCode.CONN_TOKEN_INVALID,
  StatusCode.CONN_CREDENTIALS_INVALID,
  StatusCode.CONN_KEY_INVALID,
  StatusCode.CONN_KEY_NOT_FOUND,
  StatusCode.CONN_AUTH_METHOD_DISABLED,
]);
/** 11007 and every `*_PERMISSION_DENIED` code, derived from the enum so new codes join by name. */
const PERMISSION_CODES = new Set<number>([
  StatusCode.CONN_INSUFFICIENT_SCOPES,
  ...Object.entries(StatusCode)
    .filter(([name, value]) => typeof value === "number" && name.endsWith("_PERMISSION_DENIED"))
    .map(([, value]) => value as number),
]);
const RATE_LIMIT_CODES = new Set<number>([
  StatusCode.CONN_EXCEED_HOURLY_LIMIT,
  StatusCode.CONN_EXCEED_MONTHLY_LIMIT,
  StatusCode.CONN_THROTTLED,
  StatusCode.CONN_EXCEEDS_LIMITS,
]);
/**
 * Hourly and monthly quota exhaustion will not clear within a retry window of seconds, so only
 * throttling proper is retried.
 */
const RETRYABLE_CODES = new Set<number>([
  StatusCode.CONN_THROTTLED,
  StatusCode.CONN_EXCEEDS_LIMITS,
  StatusCode.RPC_REQUEST_QUEUE_FULL,
  StatusCode.RPC_SERVER_UNAVAILABLE,
]);

/** The error class for a Clarifai status code. */
function errorClassForCode(code: number): ErrorClass {
  if (AUTH_CODES.has(code)) return AuthenticationError;
  if (PERMISSION_CODES.has(code)) return PermissionError;
  if (RATE_LIMIT_CODES.has(code)) return RateLimitError;
  if (code >= StatusCode.CONN_BAD_REQUEST_FORMAT && code <= StatusCode.CONN_INVALID_RANGE) {
    return InvalidRequestError;
  }
  if (code === StatusCode.RPC_REQUEST_QUEUE_FULL || code === StatusCode.RPC_SERVER_UNAVAILABLE) {
    return UnavailableError;
  }
  if (code === StatusCode.RPC_REQUEST_TIMEOUT) return TimeoutError;
  if (code === StatusCode.REQUEST_CANCELED_BY_USER) return CanceledError;
  return ServerError;
}

/** Whether the client retries a Clarifai status code. */
function isRetryableCode(code: number): boolean {
  return RETRYABLE_CODES.has(code);
}

/** A Clarifai `status` of a gRPC-OK reply (any object with these fields). */
export interface StatusLike {
  code: number;
  description?: string;
  details?: string;
  reqId?: string;
  developerNotes?: string;
}

/** Builds the error for a non-success `status` of a gRPC-OK reply. */
export function errorFromStatus(
  status: StatusLike,
  context: { attempts?: number; secret?: string } = {},
): ClarifaiError {
  const Cls = errorClassForCode(status.code);
  return new Cls({
    code: status.code,
    description: status.description || statusCodeName(status.code),
    details: status.details ?? "",
    reqId: status.reqId ?? "",
    developerNotes: status.developerNotes ?? "",
    retryable: isRetryableCode(status.code),
    attempts: context.attempts,
    secret: context.secret,
  });
}

/** What the client says when a TLS handshake was answered in plaintext: the server does not speak TLS. */
export const PLAINTEXT_PEER_MESSAGE =
  "the server does not speak TLS (a plaintext endpoint, such as the local emulator): connect with `insecure`";

/** What the client says when a plaintext connection was closed before HTTP/2 began. */
export const CLOSED_PLAINTEXT_MESSAGE =
  "the server closed the plaintext connection before HTTP/2 began: if it serves TLS (as Clarifai's endpoints do), connect without `insecure`";

/**
 * What the client's transport (src/client/transport) knows of a failure beyond its gRPC code:
 * - `connect`: no connection (refused, unreachable, unknown host);
 * - `tls`: the TLS handshake failed (a certificate that cannot be verified, no common protocol);
 * - `plaintext-peer`: a TLS handshake was answered in plaintext;
 * - `closed-before-http2`: the server took the connection and closed it before HTTP/2 began (a TLS
 *   server does so on reading a plaintext HTTP/2 preface);
 * - `connection-lost`: the connection dropped, or was drained (GOAWAY), with the call in flight;
 * - `stream-reset`: the server reset the call's stream (RST_STREAM) before its status;
 * - `http-status`: a reply with an HTTP status other than 200 and no gRPC status;
 * - `message-too-large`: a message over the send or receive limit;
 * - `protocol`: a reply that breaks gRPC's framing;
 * - `deadline`, `aborted`, `client-closed`: the call's deadline, its AbortSignal, `close()`.
 * Absent when the server sent the status.
 */
export type TransportReason =
  | "connect"
  | "tls"
  | "plaintext-peer"
  | "closed-before-http2"
  | "connection-lost"
  | "stream-reset"
  | "http-status"
  | "message-too-large"
  | "protocol"
  | "deadline"
  | "aborted"
  | "client-closed";

/** A failed gRPC call: its status code and message, and the transport's reason when it was not the server's status. */
export interface GrpcErrorLike {
  code?: number;
  details?: string;
  message?: string;
  reason?: TransportReason;
}

/** Failures no retry can mend: the same handshake fails the same way. */
const PERMANENT_REASONS: ReadonlySet<TransportReason | undefined> = new Set(["tls", "plaintext-peer"]);

/**
 * gRPC servers' words for a message over their size limit, sent as RESOURCE_EXHAUSTED (grpc-go
 * "grpc: received message larger than max", grpc-js and C-core "Received message larger than max"):
 * a request too big, not a rate limit.
 */
const SERVER_SIZE_LIMIT = /message larger than max|exceeds.*max/i;

/**
 * Maps a gRPC failure into the same hierarchy. `code` is the nearest Clarifai code so that callers
 * can switch on one field; `grpcCode` keeps the original.
 */
export function errorFromGrpc(
  err: GrpcErrorLike,
  context: { attempts?: number; secret?: string; aborted?: boolean; insecure?: boolean } = {},
): ClarifaiError {
  const grpcCode = typeof err.code === "number" ? err.code : GrpcStatus.UNKNOWN;
  let description = err.details || err.message || "gRPC call failed";
  if (err.reason === "plaintext-peer") description = PLAINTEXT_PEER_MESSAGE;
  else if (err.reason === "closed-before-http2" && context.insecure === true)
    description = CLOSED_PLAINTEXT_MESSAGE;
  const base = {
    description,
    grpcCode,
    attempts: context.attempts,
    secret: context.secret,
    cause: undefined,
  };
  if (context.aborted || grpcCode === GrpcStatus.CANCELLED) {
    return new CanceledError({
      ...base,
      code: context.aborted ? StatusCode.REQUEST_CANCELED_BY_USER : StatusCode.RPC_CANCELED,
      description: context.aborted ? "the call was aborted by its AbortSignal" : description,
    });
  }
  switch (grpcCode) {
    case GrpcStatus.UNAVAILABLE:
      // A certificate the client cannot verify will not become valid on retry.
      return new UnavailableError({
        ...base,
        code: StatusCode.RPC_SERVER_UNAVAILABLE,
        retryable: !PERMANENT_REASONS.has(err.reason),
      });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new TimeoutError({ ...base, code: StatusCode.RPC_REQUEST_TIMEOUT });
    case GrpcStatus.UNAUTHENTICATED:
      return new AuthenticationError({ ...base, code: StatusCode.CONN_KEY_INVALID });
    case GrpcStatus.PERMISSION_DENIED:
      return new PermissionError({ ...base, code: StatusCode.CONN_INSUFFICIENT_SCOPES });
    case GrpcStatus.INVALID_ARGUMENT:
      return new InvalidRequestError({ ...base, code: StatusCode.CONN_INVALID_REQUEST });
    case GrpcStatus.RESOURCE_EXHAUSTED:
      // An over-size message is no rate limit.
      if (
        err.reason === "message-too-large" ||
        (err.reason === undefined && SERVER_SIZE_LIMIT.test(description))
      ) {
        return new ServerError({ ...base, code: StatusCode.RPC_MAX_MESSAGE_SIZE_EXCEEDED });
      }
      return new RateLimitError({ ...base, code: StatusCode.CONN_THROTTLED, retryable: true });
    case GrpcStatus.UNIMPLEMENTED:
      return new ServerError({ ...base, code: StatusCode.RPC_UNKNOWN_METHOD });
    case GrpcStatus.INTERNAL:
      // A call cut off by the transport (its stream reset, its connection gone before the status)
      // failed nowhere on the server: a search is a read, as safe to retry as UNAVAILABLE.
      if (err.reason === "stream-reset" || err.reason === "connection-lost") {
        return new UnavailableError({ ...base, code: StatusCode.RPC_SERVER_UNAVAILABLE, retryable: true });
      }
      return new ServerError({ ...base, code: StatusCode.INTERNAL_SERVER_ISSUE });
    default:
      return new ServerError({ ...base, code: StatusCode.INTERNAL_SERVER_ISSUE });
  }
}
