/**
 * One time-stamp query over HTTP(S) (RFC 3161 section 3.4): a POST of the DER request, bounded in
 * time (connect to last byte, per attempt) and in size (at most {@link MAX_REPLY_BYTES} read; a
 * longer reply is refused, not cut), retried a couple of times with backoff when the connection
 * fails, the deadline passes or the authority answers 5xx. The URL's user info is sent as HTTP
 * Basic credentials and never shown.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";

/** Most bytes of a reply read (a token with a certificate chain is a few KiB). */
export const MAX_REPLY_BYTES = 64 * 1024;

/** Node's codes of a server certificate refused (another attempt would be refused too). */
const TLS_TRUST = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS_|HOSTNAME|ALTNAME/;

/** Where and how to ask. */
export interface QueryTarget {
  url: URL;
  /** PEM of the CAs an https authority's certificate may chain to (Node's roots and the extra one). */
  ca?: string[];
  timeoutMs: number;
  /** Attempts after the first (connection failures, deadlines, 5xx). */
  retries: number;
  /** The first backoff; doubled for each further retry. */
  backoffMs: number;
  signal?: AbortSignal;
}

/** Why a query got no usable reply: `retryable` when another attempt may do better. */
export class QueryFailure extends ClarifaiAuditError {
  override name = "QueryFailure";
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly aborted = false,
  ) {
    super(message);
  }
}

/** The reply's body (status 200), after retries; @throws QueryFailure */
export async function postQuery(target: QueryTarget, der: Buffer): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(target, der);
    } catch (e) {
      if (!(e instanceof QueryFailure) || !e.retryable || attempt >= target.retries) throw e;
      const tries = attempt + 1;
      await sleep(target.backoffMs * 2 ** attempt, target.signal).catch(() => {
        throw new QueryFailure(`interrupted after ${tries} attempt(s): ${e.message}`, false, true);
      });
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error("aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function basicAuth(url: URL): Record<string, string> {
  if (url.username === "" && url.password === "") return {};
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` };
}

function postOnce(target: QueryTarget, der: Buffer): Promise<Buffer> {
  const { url, timeoutMs, signal } = target;
  const https = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = (https ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/timestamp-query",
        accept: "application/timestamp-reply",
        "content-length": String(der.length),
        ...basicAuth(url),
      },
      ...(https && target.ca !== undefined ? { ca: target.ca } : {}),
    });
    const finish = (error: QueryFailure | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      req.destroy();
      if (error !== undefined) reject(error);
      else resolve(body as Buffer);
    };
    const timer = setTimeout(
      () => finish(new QueryFailure(`no complete reply within ${timeoutMs} ms`, true)),
      timeoutMs,
    );
    const onAbort = () => finish(new QueryFailure("interrupted", false, true));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (e: NodeJS.ErrnoException) => {
      // The message of a connection error names only the host and port (never the user info).
      const code = e.code ?? e.message;
      if (TLS_TRUST.test(code)) finish(new QueryFailure(`its certificate is not trusted (${code})`, false));
      else finish(new QueryFailure(`unreachable (${code})`, true));
    });
    req.on("response", (res) => readReply(res, finish));
    req.end(der);
  });
}

function readReply(res: IncomingMessage, finish: (e: QueryFailure | undefined, body?: Buffer) => void): void {
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.resume();
    finish(new QueryFailure(`answered HTTP ${status}`, status >= 500));
    return;
  }
  const declared = Number(res.headers["content-length"] ?? "0");
  if (declared > MAX_REPLY_BYTES) {
    finish(new QueryFailure(`its reply is ${declared} bytes, more than ${MAX_REPLY_BYTES}`, false));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  res.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_REPLY_BYTES) {
      finish(new QueryFailure(`its reply is more than ${MAX_REPLY_BYTES} bytes`, false));
      return;
    }
    chunks.push(c);
  });
  res.on("end", () => finish(undefined, Buffer.concat(chunks)));
  res.on("error", (e) => finish(new QueryFailure(`its reply broke off (${e.message})`, true)));
  res.on("aborted", () => finish(new QueryFailure("its reply broke off", true)));
}
