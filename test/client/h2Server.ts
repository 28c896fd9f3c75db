/**
 * A loopback HTTP/2 server (node:http2) whose replies a test writes frame by frame, to drive the
 * client's transport through what a real gRPC server or proxy can send: trailers-only errors, bare
 * HTTP statuses, resets, GOAWAY, malformed or over-size messages, silence.
 */
import {
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { MultiAuditLogEntryResponse } from "../../packages/client/generated/proto/clarifai/api/service.js";
import { StatusCode } from "../../packages/client/generated/proto/clarifai/api/status/status_code.js";

/** What one call brought: its request headers and the request's bytes (prefix included). */
export interface SeenCall {
  headers: IncomingHttpHeaders;
  body: Buffer;
  session: Http2Session;
}

export interface H2Server {
  port: number;
  /** Every call received, in order. */
  calls: SeenCall[];
  /** HTTP/2 connections accepted so far. */
  sessions: number;
  close(): Promise<void>;
}

/** Replies to one call; runs once the whole request has arrived. */
export type Handler = (stream: ServerHttp2Stream, call: SeenCall) => void;

/** Starts the server on 127.0.0.1 (TLS when `tls` is given). */
export async function startH2Server(
  handler: Handler,
  tls?: { cert: Buffer; key: Buffer },
): Promise<H2Server> {
  const server: Http2Server = tls
    ? (createSecureServer({ cert: tls.cert, key: tls.key }) as unknown as Http2Server)
    : createServer();
  const open = new Set<Http2Session>();
  const state: H2Server = {
    port: 0,
    calls: [],
    sessions: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("session", (session) => {
    state.sessions++;
    open.add(session);
    session.on("close", () => open.delete(session));
    session.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const call = { headers, body: Buffer.concat(chunks), session: stream.session as Http2Session };
      state.calls.push(call);
      handler(stream, call);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** `message` behind a gRPC prefix with the given flag byte and (by default, true) length. */
export function framed(message: Buffer, flag = 0, length = message.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(length, 1);
  return Buffer.concat([prefix, message]);
}

/** A successful search reply with no entries, serialized. */
export function emptySuccess(): Buffer {
  return Buffer.from(
    MultiAuditLogEntryResponse.encode(
      MultiAuditLogEntryResponse.fromPartial({
        status: { code: StatusCode.SUCCESS, description: "Ok", reqId: "req-h2" },
      }),
    ).finish(),
  );
}

/** Replies like a gRPC server: headers, the message, trailers with `grpc-status` 0. */
export function replyOk(stream: ServerHttp2Stream, message = emptySuccess()): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(framed(message));
}

/**
 * Resets `stream` with `code` (RST_STREAM) as the next frame. Not `stream.close(code)`: Node first
 * ends the writable side (an empty DATA with END_STREAM), and a client that has ended its request
 * takes that as the stream's normal end and never sees the code. The stream's native handle sends
 * the reset alone, as servers written in other languages do.
 */
export function resetStream(stream: ServerHttp2Stream, code: number): void {
  const symbol = Object.getOwnPropertySymbols(stream).find((s) => String(s) === "Symbol(kHandle)");
  const handle =
    symbol === undefined
      ? undefined
      : (stream as unknown as Record<symbol, { rstStream?(c: number): void }>)[symbol];
  if (typeof handle?.rstStream !== "function") throw new Error("this Node has no stream handle to reset");
  handle.rstStream(code);
}
