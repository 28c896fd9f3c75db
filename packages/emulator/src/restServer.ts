/**
 * The REST transport: `POST /v2/users/{user_id}/audit_log/searches` with Clarifai's proto3 JSON,
 * on node:http or node:https. Request parsing and response printing go through src/codec/protoJson.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import {
  binaryToClarifaiJson,
  type JsonValue,
  searchRequestFromJson,
} from "@clarifai-audit/client/internal/codec/index.js";
import { StatusCode } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/status/status_code.js";
import { type PreparedResponse, serializePreparedResponse } from "./responseCodec.js";
import { errorStatus, newReqId, type SearchService } from "./searchService.js";

const PATH = /^\/v2\/users\/([^/?#]+)\/audit_log\/searches\/?$/;
const MAX_BODY_BYTES = 1024 * 1024;

/** HTTP status Clarifai's gateway uses for a status code. */
function httpStatusOf(code: StatusCode): number {
  switch (code) {
    case StatusCode.SUCCESS:
      return 200;
    case StatusCode.CONN_KEY_INVALID:
    case StatusCode.CONN_KEY_NOT_FOUND:
      return 401;
    case StatusCode.CONN_INSUFFICIENT_SCOPES:
      return 403;
    case StatusCode.CONN_THROTTLED:
      return 429;
    case StatusCode.CONN_DOES_NOT_EXIST:
      return 404;
    case StatusCode.CONN_METHOD_NOT_ALLOWED:
      return 405;
    case StatusCode.RPC_SERVER_UNAVAILABLE:
      return 503;
    default:
      return 400;
  }
}

function send(res: ServerResponse, response: PreparedResponse): void {
  const json = binaryToClarifaiJson(
    "clarifai.api.MultiAuditLogEntryResponse",
    serializePreparedResponse(response),
  );
  const body = JSON.stringify(json);
  res.writeHead(httpStatusOf(response.status?.code ?? StatusCode.SUCCESS), {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function sendError(res: ServerResponse, code: StatusCode, description: string, details: string): void {
  send(res, { status: errorStatus(code, description, details, newReqId()), entries: [] });
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    // An over-size body is read to its end and dropped: closing the socket mid-upload would reset
    // the connection before the client could read the error reply.
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) parts.push(c);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
    // A client gone mid-upload never sends "end": settle, so the handler does not wait forever.
    req.on("close", () => {
      if (!req.complete) reject(new Error("client closed the connection before the end of the body"));
    });
  });
}

/**
 * The JSON path of the first field that fails to decode (e.g. `query.timestamp_from`), found by
 * decoding the request one field at a time; the JSON mapping's own errors do not name it.
 */
function failingPath(json: JsonValue): string | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    try {
      searchRequestFromJson({ [key]: value } as JsonValue);
    } catch {
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [sub, v] of Object.entries(value)) {
          try {
            searchRequestFromJson({ [key]: { [sub]: v } } as JsonValue);
          } catch {
            return `${key}.${sub}`;
          }
        }
      }
      return key;
    }
  }
  return undefined;
}

async function handle(service: SearchService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const m = PATH.exec(url.split("?")[0] as string);
  if (m === null) {
    sendError(res, StatusCode.CONN_DOES_NOT_EXIST, "Resource does not exist", `no route for ${url}`);
    return;
  }
  if (req.method !== "POST") {
    sendError(
      res,
      StatusCode.CONN_METHOD_NOT_ALLOWED,
      "Method not allowed",
      `${req.method} is not allowed here; use POST`,
    );
    return;
  }
  let pathUserId: string;
  try {
    pathUserId = decodeURIComponent(m[1] as string);
  } catch {
    sendError(
      res,
      StatusCode.CONN_BAD_REQUEST_FORMAT,
      "Bad request format",
      `the user id in ${url} is not valid percent-encoding`,
    );
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    sendError(res, StatusCode.CONN_BAD_REQUEST_FORMAT, "Bad request format", "request body is over 1 MiB");
    return;
  }
  let json: JsonValue;
  try {
    json = body.trim() === "" ? {} : (JSON.parse(body) as JsonValue);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    sendError(res, StatusCode.CONN_BAD_REQUEST_FORMAT, `Bad request format: malformed JSON (${why})`, why);
    return;
  }
  let request: ReturnType<typeof searchRequestFromJson>;
  try {
    request = searchRequestFromJson(json);
  } catch (e) {
    const path = failingPath(json);
    const message = e instanceof Error ? e.message : String(e);
    // Timestamp errors already start with their path; the JSON mapping's own errors do not.
    const why = path === undefined || message.startsWith(`${path}:`) ? message : `${path}: ${message}`;
    sendError(res, StatusCode.CONN_INVALID_REQUEST, `Invalid request: ${why}`, why);
    return;
  }
  const outcome = await service.search(request, req.headers.authorization, pathUserId);
  if (outcome.kind === "reply") send(res, outcome.response);
  else if (outcome.kind === "unavailable") {
    sendError(
      res,
      StatusCode.RPC_SERVER_UNAVAILABLE,
      "Service unavailable",
      "emulated fault: service unavailable",
    );
  } else req.socket.destroy();
}

/** Starts the REST server (https when `tls` is given); resolves with the bound port. */
export async function startRestServer(
  service: SearchService,
  host: string,
  port: number,
  tls: { cert: string | Buffer; key: string | Buffer } | undefined,
): Promise<{ server: http.Server; port: number }> {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(service, req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        sendError(res, StatusCode.INTERNAL_SERVER_ISSUE, "Internal server issue", String(err));
      } else res.destroy();
    });
  };
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export function stopRestServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
