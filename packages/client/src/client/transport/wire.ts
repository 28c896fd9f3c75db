/**
 * gRPC over HTTP/2 as the protocol spells it (grpc/doc/PROTOCOL-HTTP2.md): the length-prefixed
 * message, the `grpc-timeout` header, `grpc-message` percent-decoding, and the spec's tables from
 * HTTP statuses and RST_STREAM codes to gRPC statuses.
 */
import { constants } from "node:http2";
import { ClarifaiAuditError } from "../../domain/errors.js";
import { GrpcStatus, type GrpcStatusCode } from "../../domain/grpcStatus.js";

/** Bytes before each message: a compressed flag and a 4-byte big-endian length. */
export const PREFIX_BYTES = 5;

/** The largest length the 4-byte prefix can state. */
export const MAX_FRAMED_LENGTH = 0xffff_ffff;

/** `message` behind its prefix (uncompressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

/**
 * The `grpc-timeout` value for `ms` milliseconds: at most 8 digits, so the unit grows with the
 * value (rounded up, so the server never sees a deadline earlier than the client's).
 */
export function grpcTimeout(ms: number): string {
  const units: [string, number][] = [
    ["m", 1],
    ["S", 1_000],
    ["M", 60_000],
    ["H", 3_600_000],
  ];
  const wanted = Math.max(0, Math.ceil(ms));
  for (const [unit, size] of units) {
    const n = Math.ceil(wanted / size);
    if (n <= 99_999_999) return `${n}${unit}`;
  }
  return "99999999H";
}

/**
 * `grpc-message` as sent: percent-encoded UTF-8. A malformed escape is kept as it is, as the spec
 * asks of receivers, rather than failing the call over its error text.
 */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes("%")) return text;
  const bytes: number[] = [];
  const raw = Buffer.from(text, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === 0x25 && i + 2 < raw.length ? raw.toString("latin1", i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(raw[i]);
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The spec's "HTTP to gRPC Status Code Mapping", for a reply without `grpc-status`. */
export function grpcStatusFromHttp(status: number): GrpcStatusCode {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** The spec's "Errors" table: the status of a call whose stream the server reset with `code`. */
export function grpcStatusFromRstCode(code: number): GrpcStatusCode {
  switch (code) {
    case constants.NGHTTP2_REFUSED_STREAM:
      // No processing occurred: safe to retry.
      return GrpcStatus.UNAVAILABLE;
    case constants.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** Why a reply's bytes cannot be read as one gRPC message. */
export class FramingError extends ClarifaiAuditError {
  constructor(
    message: string,
    /** True when the message is over the receive limit (RESOURCE_EXHAUSTED), else malformed. */
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/**
 * Reads the one message of a unary reply from DATA chunks. The length is checked against the limit
 * as soon as the prefix is in, before any of the message is kept, and the message is copied once
 * into a buffer of exactly its size.
 */
export class UnaryMessageReader {
  readonly #limit: number;
  readonly #prefix = Buffer.alloc(PREFIX_BYTES);
  #prefixFilled = 0;
  #message: Buffer | undefined;
  #filled = 0;
  #done = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes the next DATA chunk. @throws FramingError */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#done) throw new FramingError("the server sent more than one message in a unary reply");
      if (this.#message === undefined) {
        const take = Math.min(PREFIX_BYTES - this.#prefixFilled, chunk.length - at);
        chunk.copy(this.#prefix, this.#prefixFilled, at, at + take);
        this.#prefixFilled += take;
        at += take;
        if (this.#prefixFilled < PREFIX_BYTES) return;
        this.#startMessage();
        continue;
      }
      const message = this.#message;
      const take = Math.min(message.length - this.#filled, chunk.length - at);
      chunk.copy(message, this.#filled, at, at + take);
      this.#filled += take;
      at += take;
      if (this.#filled === message.length) this.#done = true;
    }
  }

  #startMessage(): void {
    const flag = this.#prefix[0];
    if (flag === 1) {
      // Nothing was negotiated: the client sends `grpc-accept-encoding: identity`.
      throw new FramingError("the server sent a compressed message, though the client accepts none");
    }
    if (flag !== 0) throw new FramingError(`malformed message prefix (flag byte ${flag})`);
    const length = this.#prefix.readUInt32BE(1);
    if (length > this.#limit) {
      throw new FramingError(`received message larger than max (${length} vs. ${this.#limit})`, true);
    }
    this.#message = Buffer.allocUnsafe(length);
    this.#done = length === 0;
  }

  /** The message once the reply has ended. @throws FramingError when it is incomplete or missing. */
  finish(): Buffer {
    if (this.#done && this.#message !== undefined) return this.#message;
    if (this.#prefixFilled === 0) throw new FramingError("the reply ended without a message");
    throw new FramingError("the reply ended inside a message");
  }
}
