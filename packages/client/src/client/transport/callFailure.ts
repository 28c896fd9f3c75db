/**
 * What a call's failure is made of: the error a call ends with, the watch on its deadline and
 * signal, and the reading of a connection's own failure (refused, TLS, a plaintext peer, closed
 * before HTTP/2, lost mid-call) from Node's error codes rather than its message words.
 */
import type { ClientHttp2Session } from "node:http2";
import { ClarifaiAuditError } from "../../domain/errors.js";
import { GrpcStatus } from "../../domain/grpcStatus.js";
import type { GrpcErrorLike, TransportReason } from "../../errors.js";

/** A failed call: its gRPC status code, the text, and the transport's reason when the server sent no status. */
export class GrpcCallError extends ClarifaiAuditError implements GrpcErrorLike {
  override name = "GrpcCallError";
  constructor(
    readonly code: number,
    readonly details: string,
    readonly reason?: TransportReason,
  ) {
    super(`${code} ${details}`);
  }
}

/** One unary call's deadline and signal (see UnaryRequest). */
export interface CallLimits {
  /** Epoch ms. */
  deadline: number;
  signal?: AbortSignal;
}

/** The longest wait a Node timer can make, in ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One HTTP/2 connection and what happened to it. */
export interface Connection {
  session: ClientHttp2Session;
  /** The server's SETTINGS arrived: HTTP/2 began. */
  established: boolean;
  /** The first error of the session or its socket. */
  error?: Error;
  /** GOAWAY received: no new calls on it. */
  draining: boolean;
  /** Calls in flight. */
  active: number;
  keepalive?: NodeJS.Timeout;
}

/** TLS handshake answered by a peer speaking plaintext (OpenSSL's record-layer errors). */
const PLAINTEXT_PEER_CODES = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
  "ERR_SSL_HTTP_REQUEST",
]);
/** Error codes of a failed TLS handshake: OpenSSL's and X.509 verification's. */
const TLS_CODE =
  /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH)/;

/** Fails the call at its deadline or when its signal aborts; returns what stops watching. */
export function watchDeadline(request: CallLimits, fail: (error: GrpcCallError) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => fail(new GrpcCallError(GrpcStatus.CANCELLED, "the call was aborted", "aborted"));
  const stop = () => {
    clearTimeout(timer);
    request.signal?.removeEventListener("abort", onAbort);
  };
  const arm = () => {
    const left = request.deadline - Date.now();
    if (left <= 0) fail(new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded", "deadline"));
    else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  if (request.signal?.aborted) onAbort();
  else {
    request.signal?.addEventListener("abort", onAbort, { once: true });
    arm();
  }
  return stop;
}

/** The failure of a call whose connection (to `where`, host:port) failed, closed or was drained under it. */
export function connectionFailure(conn: Connection, streamError: unknown, where: string): GrpcCallError {
  // A call still waiting for its connection ends with ERR_HTTP2_STREAM_CANCEL, whose cause is the
  // connection's error (often before the session reports it).
  // (Not instanceof Error: Node's errors may come from another realm, as under a test runner's VM.)
  const isError = (e: unknown): e is Error =>
    typeof e === "object" && e !== null && typeof (e as Error).message === "string";
  const cause = isError(streamError) ? (streamError as { cause?: unknown }).cause : undefined;
  const fromStream = isError(cause) ? cause : isError(streamError) ? streamError : undefined;
  const error = conn.error ?? fromStream;
  if (!conn.established) {
    const code = String((error as NodeJS.ErrnoException | undefined)?.code ?? "");
    if (error === undefined) {
      return new GrpcCallError(
        GrpcStatus.UNAVAILABLE,
        `${where} closed the connection before HTTP/2 began`,
        "closed-before-http2",
      );
    }
    const reason: TransportReason = PLAINTEXT_PEER_CODES.has(code)
      ? "plaintext-peer"
      : TLS_CODE.test(code)
        ? "tls"
        : "connect";
    return new GrpcCallError(GrpcStatus.UNAVAILABLE, `cannot connect to ${where}: ${error.message}`, reason);
  }
  return new GrpcCallError(
    GrpcStatus.UNAVAILABLE,
    conn.draining
      ? "the server closed the connection (GOAWAY) before the call's reply"
      : `the connection was lost before the call's reply${error ? ` (${error.message})` : ""}`,
    "connection-lost",
  );
}
