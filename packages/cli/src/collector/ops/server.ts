/**
 * The collector's operations listener (`listen:`): GET /metrics (Prometheus), /healthz (liveness)
 * and /readyz (readiness, with the problems). It is reachable by whatever can reach the port, so it
 * is built to be poked at: it reads no body, answers with fixed texts (never a piece of the
 * request), bounds headers, connections and the time a client may take, and a slow or idle client
 * cannot keep it from answering another or from closing.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { redact } from "@clarifai-audit/client/internal/domain/redact.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import type { CollectorMetrics } from "./metrics.js";

/** What /healthz and /readyz answer. */
export interface Health {
  /** The process works (its loop runs, it is not stuck shutting down): /healthz 200, else 503. */
  live: boolean;
  /** Every account is walked and no destination has failed for longer than `unhealthy_after`. */
  ready: boolean;
  /** Why it is not ready, one line each (listed by /readyz). */
  problems: string[];
}

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  /** Address to bind (`127.0.0.1`, `::`, `0.0.0.0`…). */
  host: string;
  /** Port to bind; 0 picks a free one (see {@link OpsServer.address}). */
  port: number;
  metrics: CollectorMetrics;
  /** Asked at each /healthz and /readyz. */
  health(): Health;
  /** Other limits than {@link OPS_LIMITS} (tests). */
  limits?: Partial<OpsLimits>;
}

/** A running listener. */
export interface OpsServer {
  /** `host:port` actually bound (`[::1]:9464` for IPv6). */
  address: string;
  /** Stops listening and ends every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

/** The address could not be bound (in use, not on this machine, not allowed). */
export class OpsListenError extends AuditUsageError {
  override name = "OpsListenError";
}

/** Limits of the listener (see {@link OPS_LIMITS}). */
export interface OpsLimits {
  maxHeaderBytes: number;
  maxHeadersCount: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  checkIntervalMs: number;
  socketIdleMs: number;
  maxConnections: number;
  maxRequestsPerSocket: number;
  maxProblems: number;
  maxProblemChars: number;
}

/** Limits of the listener: a scrape is a few small requests a minute, so all of these are generous. */
export const OPS_LIMITS: Readonly<OpsLimits> = {
  /** Request head bytes (Node's own limit is 16 KiB). */
  maxHeaderBytes: 8 * 1024,
  maxHeadersCount: 32,
  /** The whole head must arrive within this (a client trickling headers is cut). */
  headersTimeoutMs: 5_000,
  /** The whole request must arrive within this. */
  requestTimeoutMs: 10_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often the timeouts above are enforced (Node's default, 30 s, would let a slow client stay 30 s more). */
  checkIntervalMs: 1_000,
  /** Any socket with no traffic for this long is destroyed (a stalled reader of a response). */
  socketIdleMs: 15_000,
  maxConnections: 64,
  maxRequestsPerSocket: 1_000,
  /** /readyz lists at most this many problems, each cut to this many characters. */
  maxProblems: 50,
  maxProblemChars: 500,
};

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A problem line for /readyz: no secret, no control character, no line break, bounded. */
function problemLine(text: string, max: number): string {
  const line = terminalSafe(redact(text));
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...headers,
  });
  res.end(body);
}

/** True when the request says it carries a body (which is never read). */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

async function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  o: OpsServerOptions,
  limits: OpsLimits,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    // The body is not read: the connection closes after the answer instead of draining it.
    send(res, 405, "method not allowed\n", { Allow: "GET, HEAD", Connection: "close" });
    return;
  }
  if (hasBody(req)) {
    send(res, 413, "a request body is not accepted\n", { Connection: "close" });
    return;
  }
  const url = req.url ?? "";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  switch (path) {
    case "/metrics": {
      let text: string;
      try {
        text = await o.metrics.text();
      } catch {
        send(res, 500, "metrics could not be collected\n");
        return;
      }
      send(res, 200, text, { "Content-Type": o.metrics.contentType });
      return;
    }
    case "/healthz":
    case "/readyz": {
      let health: Health;
      try {
        health = o.health();
      } catch {
        send(res, 503, "health could not be determined\n");
        return;
      }
      if (path === "/healthz") {
        send(res, health.live ? 200 : 503, health.live ? "ok\n" : "not live\n");
        return;
      }
      if (health.ready) {
        send(res, 200, "ok\n");
        return;
      }
      const lines = health.problems
        .slice(0, limits.maxProblems)
        .map((p) => problemLine(String(p), limits.maxProblemChars));
      if (health.problems.length > limits.maxProblems)
        lines.push(`… and ${health.problems.length - limits.maxProblems} more`);
      if (lines.length === 0) lines.push("not ready");
      send(res, 503, `${lines.join("\n")}\n`);
      return;
    }
    default:
      send(res, 404, "not found\n");
  }
}

/**
 * Binds `host:port` and serves /metrics, /healthz and /readyz until closed. Rejects with an
 * {@link OpsListenError} (one line naming the address) when the address cannot be bound.
 */
export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const limits: OpsLimits = { ...OPS_LIMITS, ...o.limits };
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    (req, res) => {
      answer(req, res, o, limits).catch(() => {
        if (!res.headersSent) send(res, 500, "internal error\n");
        else res.destroy();
      });
    },
  );
  server.maxHeadersCount = limits.maxHeadersCount;
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.setTimeout(limits.socketIdleMs, (socket: Socket) => socket.destroy());
  // A malformed, oversized or too slow request gets a bare status line and the connection is
  // closed (as Node's default does); nothing of the request is echoed.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    const status =
      error.code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  const wanted = hostPort(o.host, o.port);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const why =
        error.code === "EADDRINUSE"
          ? "the address is in use (another collector, or another service, listens there)"
          : error.code === "EADDRNOTAVAIL"
            ? "the address is not one of this machine's"
            : error.code === "EACCES"
              ? "binding it is not allowed (a port below 1024 needs privileges)"
              : `it cannot be bound (${error.code ?? error.message})`;
      reject(
        new OpsListenError(
          { input: "listen", problem: `cannot listen on ${wanted}: ${why}`, cause: error },
          `listen ${wanted}: ${why}`,
        ),
      );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host: o.host, port: o.port, exclusive: true });
  });
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: hostPort(bound.address, bound.port),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Without this, close() waits for every keep-alive connection to time out on its own.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
