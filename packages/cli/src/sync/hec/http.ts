/**
 * One HTTP(S) connection pool to a collector and its bounded requests: keep-alive (a batch per
 * request, many per second, no TLS handshake each), certificate checks on (`ca` replaces Node's
 * roots for a private CA), each request (connect, headers, body) within a deadline, and at most
 * {@link MAX_REPLY_BYTES} of a reply read: a proxy that streams without end or stalls after its
 * status costs one timeout and 64 KiB, never unbounded time or memory.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";

/** Most bytes of a reply body kept (HEC's replies are a few dozen bytes; an ack reply a few per id). */
export const MAX_REPLY_BYTES = 64 * 1024;

/** A complete reply. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body (at most {@link MAX_REPLY_BYTES} of it). */
  body: string;
}

/** Why a request got no reply: the network, TLS, a deadline or an abort. */
export class HttpFailure extends ClarifaiAuditError {
  override name = "HttpFailure";
  constructor(
    message: string,
    /** Node's error, when there was one (its `code` tells a refused certificate: ../delivery/tlsTrust.ts). */
    readonly error?: unknown,
    /** The caller's signal ended it. */
    readonly aborted = false,
  ) {
    super(message);
  }
}

/** What {@link HttpPool} needs. */
export interface HttpPoolOptions {
  host: string;
  port: number;
  plain: boolean;
  /** PEM of the CA(s) to trust instead of Node's. */
  ca?: Buffer;
  /** Deadline of one request, connect to last byte. */
  timeoutMs: number;
}

/** Requests to one collector over kept-alive connections. */
export class HttpPool {
  readonly #agent: HttpAgent;
  constructor(readonly o: HttpPoolOptions) {
    // Two sockets: a batch in flight and an ack poll beside it; no more (the collector's queue is the bottleneck).
    this.#agent = o.plain
      ? new HttpAgent({ keepAlive: true, maxSockets: 2 })
      : new HttpsAgent({
          keepAlive: true,
          maxSockets: 2,
          ...(o.ca !== undefined ? { ca: o.ca } : {}),
          rejectUnauthorized: true,
        });
  }

  /** One request; rejects with {@link HttpFailure} when there is no complete reply in time. */
  request(
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const payload = body === undefined ? undefined : Buffer.from(body);
      const req = (this.o.plain ? httpRequest : httpsRequest)({
        host: this.o.host,
        port: this.o.port,
        method,
        path,
        agent: this.#agent,
        headers: {
          ...headers,
          ...(payload !== undefined ? { "content-length": String(payload.length) } : {}),
        },
        ...(this.o.plain ? {} : { servername: isIp(this.o.host) ? undefined : this.o.host }),
      });
      const finish = (error: HttpFailure | undefined, reply?: HttpReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error !== undefined) {
          req.destroy();
          reject(error);
        } else resolve(reply as HttpReply);
      };
      const timer = setTimeout(
        () => finish(new HttpFailure(`no complete reply within ${this.o.timeoutMs} ms`)),
        this.o.timeoutMs,
      );
      const onAbort = () => finish(new HttpFailure("interrupted", undefined, true));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e: NodeJS.ErrnoException) => {
        const code = e.code ?? "";
        finish(new HttpFailure(code !== "" ? `${code}: ${e.message}` : e.message, e));
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          if (size >= MAX_REPLY_BYTES) return;
          chunks.push(c);
          size += c.length;
          // More than any HEC reply: the rest is not wanted, and the socket is not reused.
          if (size >= MAX_REPLY_BYTES) {
            const reply = { status: res.statusCode ?? 0, headers: res.headers, body: text(chunks) };
            finish(undefined, reply);
            req.destroy();
          }
        });
        res.on("end", () =>
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: text(chunks) }),
        );
        res.on("error", (e) => finish(new HttpFailure(e.message, e)));
      });
      req.end(payload);
    });
  }

  /** Closes every connection. */
  close(): void {
    this.#agent.destroy();
  }
}

function text(chunks: Buffer[]): string {
  return Buffer.concat(chunks).subarray(0, MAX_REPLY_BYTES).toString("utf8");
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
