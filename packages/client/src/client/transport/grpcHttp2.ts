/**
 * The client's gRPC transport: unary calls over one HTTP/2 connection of Node's own `node:http2`,
 * as connect-es and aws-sdk-js-v3 speak HTTP/2 themselves, so the client needs no gRPC library.
 * One connection per client, made on the first call and made anew after it closes or the server
 * drains it (GOAWAY); every call is HEADERS plus one length-prefixed message, and its reply is read
 * by the spec (grpc/doc/PROTOCOL-HTTP2.md): status from the trailers (or a trailers-only reply),
 * else from the HTTP status or the stream's reset code. Failures are {@link GrpcCallError}s.
 */
import {
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { isIP, type Socket } from "node:net";
import { type ConnectionOptions, checkServerIdentity, connect as tlsConnect } from "node:tls";
import { GrpcStatus } from "../../domain/grpcStatus.js";
import { type Connection, connectionFailure, GrpcCallError, watchDeadline } from "./callFailure.js";
import type { TransportSettings } from "./channelOptions.js";
import { type HttpProxy, openTunnel } from "./httpProxy.js";
import type { RequestHeaders } from "./metadata.js";
import {
  decodeGrpcMessage,
  type FramingError,
  frameMessage,
  grpcStatusFromHttp,
  grpcStatusFromRstCode,
  grpcTimeout,
  UnaryMessageReader,
} from "./wire.js";

/** Where and how to connect. */
export interface TransportTarget {
  host: string;
  port: number;
  insecure: boolean;
  /** PEM roots to trust instead of the system's. */
  rootCerts?: Buffer;
  settings: TransportSettings;
}

/** One unary call. */
export interface UnaryRequest {
  /** `/package.Service/Method`. */
  path: string;
  /** The serialized request. */
  message: Uint8Array;
  /** Metadata headers, `authorization` included. */
  metadata: RequestHeaders;
  /** Epoch ms. */
  deadline: number;
  signal?: AbortSignal;
}

const USER_AGENT = "clarifai-audit (node-http2)";

/** A CONNECT tunnel being opened, shared by the calls waiting for it. */
interface PendingTunnel {
  /** Settles once the connection over the tunnel is made, or the tunnel failed. */
  done: Promise<void>;
  waiters: number;
  /** Abandons the tunnel (when no call waits for it any more). */
  controller: AbortController;
}

/** A unary gRPC client over `node:http2`. */
export class GrpcHttp2Transport {
  readonly #target: TransportTarget;
  readonly #authorityUrl: string;
  #connection: Connection | undefined;
  #tunnel: PendingTunnel | undefined;
  readonly #inFlight = new Set<(error: GrpcCallError) => void>();
  #closed = false;

  constructor(target: TransportTarget) {
    this.#target = target;
    const host = target.host.includes(":") ? `[${target.host}]` : target.host;
    this.#authorityUrl = `${target.insecure ? "http" : "https"}://${host}:${target.port}`;
  }

  /** Sends `request`; resolves with the reply's message, or rejects with a {@link GrpcCallError}. */
  async unary(request: UnaryRequest): Promise<Buffer> {
    const { proxy } = this.#target.settings;
    // Through a proxy, a connection is made only once its tunnel is open (within the call's deadline).
    while (proxy !== undefined && !this.#closed && this.#current() === undefined) {
      await this.#awaitTunnel(request, proxy);
    }
    return new Promise((resolve, reject) => this.#start(request, resolve, reject));
  }

  /** Closes the connection; calls in flight fail (CANCELLED), later ones are refused. */
  close(): void {
    this.#closed = true;
    this.#tunnel?.controller.abort();
    for (const fail of [...this.#inFlight]) {
      fail(new GrpcCallError(GrpcStatus.CANCELLED, "the client was closed", "client-closed"));
    }
    if (this.#connection !== undefined) this.#drop(this.#connection, true);
  }

  #start(request: UnaryRequest, resolve: (message: Buffer) => void, reject: (error: unknown) => void): void {
    const { settings } = this.#target;
    if (this.#closed) {
      reject(new GrpcCallError(GrpcStatus.CANCELLED, "the client was closed", "client-closed"));
      return;
    }
    if (request.message.length > settings.maxSendBytes) {
      reject(
        new GrpcCallError(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `sent message larger than max (${request.message.length} vs. ${settings.maxSendBytes})`,
          "message-too-large",
        ),
      );
      return;
    }
    const conn = this.#usableConnection();
    let stream: ClientHttp2Stream | undefined;
    let stopWatching: (() => void) | undefined;
    let settled = false;
    const finish = (error: GrpcCallError | undefined, message?: Buffer) => {
      if (settled) return;
      settled = true;
      stopWatching?.();
      this.#inFlight.delete(fail);
      conn.active--;
      if (conn.active === 0) conn.session.unref();
      if (stream !== undefined && !stream.closed && error !== undefined)
        stream.close(constants.NGHTTP2_CANCEL);
      if (error !== undefined) reject(error);
      else resolve(message as Buffer);
    };
    const fail = (error: GrpcCallError) => finish(error);
    conn.active++;
    conn.session.ref();
    this.#inFlight.add(fail);
    stopWatching = watchDeadline(request, fail);
    if (settled) {
      stopWatching();
      return;
    }

    const headers: Record<string, string | string[]> = {
      ...request.metadata,
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: request.path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [constants.HTTP2_HEADER_TE]: "trailers",
      [constants.HTTP2_HEADER_USER_AGENT]: settings.userAgentPrefix
        ? `${settings.userAgentPrefix} ${USER_AGENT}`
        : USER_AGENT,
      "grpc-accept-encoding": "identity",
      "grpc-timeout": grpcTimeout(request.deadline - Date.now()),
    };
    if (settings.authority !== undefined) headers[constants.HTTP2_HEADER_AUTHORITY] = settings.authority;
    try {
      stream = conn.session.request(headers, { endStream: false });
    } catch (e) {
      // The session closed or was drained between the check and the request.
      this.#drop(conn, false);
      fail(
        new GrpcCallError(
          GrpcStatus.UNAVAILABLE,
          `cannot start the call on the connection: ${(e as Error).message}`,
          "connection-lost",
        ),
      );
      return;
    }
    this.#readReply(stream, conn, finish);
    stream.end(frameMessage(request.message));
  }

  /** Reads the reply of `stream` and settles the call once the stream is closed. */
  #readReply(
    stream: ClientHttp2Stream,
    conn: Connection,
    finish: (error: GrpcCallError | undefined, message?: Buffer) => void,
  ): void {
    const reader = new UnaryMessageReader(this.#target.settings.maxReceiveBytes);
    let httpStatus: number | undefined;
    let grpcHeaders: IncomingHttpHeaders | undefined;
    let framingError: GrpcCallError | undefined;
    let streamError: unknown;
    stream.on("response", (headers) => {
      httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
      // A trailers-only reply carries the status in its headers.
      if (headers["grpc-status"] !== undefined) grpcHeaders = headers;
      const type = String(headers[constants.HTTP2_HEADER_CONTENT_TYPE] ?? "");
      if (httpStatus === 200 && grpcHeaders === undefined && !/^application\/grpc(\+|;|$)/.test(type)) {
        framingError = new GrpcCallError(
          GrpcStatus.UNKNOWN,
          `the reply's content-type is ${JSON.stringify(type)}, not application/grpc`,
          "protocol",
        );
        finish(framingError);
      }
    });
    stream.on("data", (chunk: Buffer) => {
      if (httpStatus !== 200 || framingError !== undefined) return;
      try {
        reader.push(chunk);
      } catch (e) {
        const f = e as FramingError;
        framingError = f.tooLarge
          ? new GrpcCallError(GrpcStatus.RESOURCE_EXHAUSTED, f.message, "message-too-large")
          : new GrpcCallError(GrpcStatus.INTERNAL, f.message, "protocol");
        // Refused as soon as known: the rest of an over-size message is never read.
        finish(framingError);
      }
    });
    stream.on("trailers", (trailers) => {
      grpcHeaders = trailers;
    });
    stream.on("error", (e) => {
      streamError = e;
    });
    stream.on("close", () => {
      if (grpcHeaders !== undefined) {
        const code = Number(grpcHeaders["grpc-status"]);
        const details = decodeGrpcMessage(String(grpcHeaders["grpc-message"] ?? ""));
        if (!Number.isInteger(code) || code < 0) {
          finish(
            new GrpcCallError(
              GrpcStatus.UNKNOWN,
              `malformed grpc-status ${JSON.stringify(grpcHeaders["grpc-status"])}`,
              "protocol",
            ),
          );
        } else if (code !== GrpcStatus.OK) finish(new GrpcCallError(code, details));
        else {
          try {
            finish(undefined, reader.finish());
          } catch (e) {
            finish(new GrpcCallError(GrpcStatus.INTERNAL, (e as Error).message, "protocol"));
          }
        }
        return;
      }
      if (httpStatus !== undefined && httpStatus !== 200) {
        finish(
          new GrpcCallError(
            grpcStatusFromHttp(httpStatus),
            `the server replied with HTTP status ${httpStatus} and no gRPC status`,
            "http-status",
          ),
        );
      } else if (conn.session.destroyed || conn.draining || conn.error !== undefined) {
        finish(connectionFailure(conn, streamError, `${this.#target.host}:${this.#target.port}`));
      } else if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
        finish(
          new GrpcCallError(
            grpcStatusFromRstCode(stream.rstCode),
            `the server reset the stream (RST_STREAM code ${stream.rstCode})`,
            "stream-reset",
          ),
        );
      } else {
        finish(
          new GrpcCallError(GrpcStatus.INTERNAL, "the reply ended without a gRPC status", "stream-reset"),
        );
      }
    });
  }

  /** The current connection unless it is closing. */
  #current(): Connection | undefined {
    const current = this.#connection;
    return current !== undefined && !current.draining && !current.session.closed && !current.session.destroyed
      ? current
      : undefined;
  }

  /** The current connection, or a new one when there is none or it is closing. */
  #usableConnection(): Connection {
    const current = this.#current();
    if (current !== undefined) return current;
    const conn = this.#connect();
    this.#connection = conn;
    return conn;
  }

  /**
   * Waits, within the call's deadline, for the connection over a CONNECT tunnel through `proxy`
   * (opened by the first call to wait, shared by the others, abandoned when none waits any more).
   */
  #awaitTunnel(request: UnaryRequest, proxy: HttpProxy): Promise<void> {
    const { host, port } = this.#target;
    const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    let tunnel = this.#tunnel;
    if (tunnel === undefined) {
      const controller = new AbortController();
      const forget = () => {
        if (this.#tunnel === tunnel) this.#tunnel = undefined;
      };
      const done = openTunnel(proxy, authority, controller.signal).then((socket) => {
        forget();
        if (this.#closed) socket.destroy();
        else this.#connection = this.#connect(socket);
      });
      done.catch(forget);
      tunnel = { done, waiters: 0, controller };
      this.#tunnel = tunnel;
    }
    const shared = tunnel;
    shared.waiters++;
    return new Promise((resolve, reject) => {
      let settled = false;
      let stopWatching: (() => void) | undefined;
      const finish = (error?: GrpcCallError) => {
        if (settled) return;
        settled = true;
        stopWatching?.();
        this.#inFlight.delete(fail);
        shared.waiters--;
        if (error === undefined) resolve();
        else {
          if (shared.waiters === 0) shared.controller.abort();
          reject(error);
        }
      };
      const fail = (error: GrpcCallError) => finish(error);
      this.#inFlight.add(fail);
      stopWatching = watchDeadline(request, fail);
      if (settled) {
        stopWatching();
        return;
      }
      shared.done.then(
        () => finish(),
        // A proxy that cannot be reached or refuses the tunnel is a refused connection: retried.
        (e: Error) =>
          fail(
            new GrpcCallError(
              GrpcStatus.UNAVAILABLE,
              `cannot connect to ${authority}: ${e.message}`,
              "connect",
            ),
          ),
      );
    });
  }

  /** A new connection: over `tunnel` (a CONNECT tunnel's socket) when given, else direct. */
  #connect(tunnel?: Socket): Connection {
    const { host, insecure, rootCerts, settings } = this.#target;
    const options: SecureClientSessionOptions = {
      settings: { enablePush: false, initialWindowSize: settings.flowControlWindow },
      // Node's default (10 MB) refuses new streams once that much is buffered; the flow-control
      // windows bound what a session holds instead, as in grpc-js.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
    };
    const tls: ConnectionOptions = {};
    if (!insecure) {
      const name = settings.targetNameOverride ?? (isIP(host) === 0 ? host : undefined);
      if (rootCerts !== undefined) tls.ca = rootCerts;
      if (name !== undefined) tls.servername = name;
      if (settings.targetNameOverride !== undefined) {
        const override = settings.targetNameOverride;
        tls.checkServerIdentity = (_host, cert) => checkServerIdentity(override, cert);
      }
      Object.assign(options, tls);
    }
    if (tunnel !== undefined) {
      options.createConnection = () =>
        insecure ? tunnel : tlsConnect({ ...tls, socket: tunnel, ALPNProtocols: ["h2"] });
    }
    const session = connect(this.#authorityUrl, options);
    const conn: Connection = { session, established: false, draining: false, active: 0 };
    session.on("error", (e) => {
      conn.error ??= e;
    });
    session.on("remoteSettings", () => {
      if (conn.established) return;
      conn.established = true;
      session.setLocalWindowSize(settings.flowControlWindow);
      this.#startKeepalive(conn);
    });
    session.on("goaway", () => {
      conn.draining = true;
      if (conn.active === 0) this.#drop(conn, false);
      else if (this.#connection === conn) this.#connection = undefined;
    });
    session.on("close", () => {
      clearInterval(conn.keepalive);
      if (this.#connection === conn) this.#connection = undefined;
    });
    return conn;
  }

  /** Pings every `keepaliveTimeMs`; a ping unanswered within `keepaliveTimeoutMs` drops the connection. */
  #startKeepalive(conn: Connection): void {
    const { keepaliveTimeMs, keepaliveTimeoutMs, keepaliveWithoutCalls } = this.#target.settings;
    if (keepaliveTimeMs === undefined) return;
    conn.keepalive = setInterval(() => {
      if (conn.active === 0 && !keepaliveWithoutCalls) return;
      const timeout = setTimeout(() => {
        conn.error ??= new Error(`keepalive ping unanswered within ${keepaliveTimeoutMs} ms`);
        conn.session.destroy();
      }, keepaliveTimeoutMs);
      timeout.unref();
      try {
        conn.session.ping(() => clearTimeout(timeout));
      } catch {
        clearTimeout(timeout);
      }
    }, keepaliveTimeMs);
    conn.keepalive.unref();
  }

  /** Forgets `conn`; closes it now (`destroy`) or once its calls are done. */
  #drop(conn: Connection, destroy: boolean): void {
    if (this.#connection === conn) this.#connection = undefined;
    clearInterval(conn.keepalive);
    if (destroy) conn.session.destroy();
    else if (!conn.session.closed) conn.session.close();
  }
}
