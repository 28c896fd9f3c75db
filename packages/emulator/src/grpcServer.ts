/**
 * The gRPC transport: `clarifai.api.V2/PostAuditLogSearches` on grpc-js, plaintext or TLS.
 */
import type { Http2Session } from "node:http2";
import type { PostAuditLogSearchesRequest } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import {
  Server,
  type ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { EmulatorV2Service, type PreparedResponse } from "./responseCodec.js";
import type { SearchService } from "./searchService.js";

/** Big enough for 1000-entry pages with large entries; matches the official client's limit. */
export const MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;
/**
 * Largest request accepted: a search request is a few hundred bytes, and a server that buffers
 * 1 GiB per request can be pushed out of memory by a handful of them. grpc-js's own default, 4 MiB,
 * is what Clarifai's gRPC front end enforces as well (RESOURCE_EXHAUSTED beyond it).
 */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * The HTTP/2 session under a unary call. grpc-js does not expose it, so this walks its (stable
 * since 1.10) internals: ServerUnaryCallImpl.call → ServerInterceptingCall.nextCall* → stream.
 */
function sessionOf(call: ServerUnaryCall<unknown, unknown>): Http2Session | undefined {
  let c = (call as unknown as { call?: unknown }).call as Record<string, unknown> | undefined;
  for (let depth = 0; c !== undefined && depth < 16; depth++) {
    const stream = c.stream as { session?: Http2Session } | undefined;
    if (stream?.session !== undefined) return stream.session;
    c = c.nextCall as Record<string, unknown> | undefined;
  }
  return undefined;
}

function authorizationOf(call: ServerUnaryCall<unknown, unknown>): string | undefined {
  const v = call.metadata.get("authorization")[0];
  return typeof v === "string" ? v : v === undefined ? undefined : v.toString("utf8");
}

/** Starts the gRPC server; resolves with the bound port. */
export async function startGrpcServer(
  service: SearchService,
  host: string,
  port: number,
  credentials: ServerCredentials,
): Promise<{ server: Server; port: number }> {
  const server = new Server({
    "grpc.max_receive_message_length": MAX_REQUEST_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  server.addService(EmulatorV2Service as never, {
    postAuditLogSearches(
      call: ServerUnaryCall<PostAuditLogSearchesRequest, PreparedResponse>,
      callback: sendUnaryData<PreparedResponse>,
    ): void {
      service.search(call.request, authorizationOf(call)).then(
        (outcome) => {
          if (outcome.kind === "reply") callback(null, outcome.response);
          else if (outcome.kind === "unavailable") {
            callback({ code: status.UNAVAILABLE, details: "emulated fault: service unavailable" });
          } else {
            const session = sessionOf(call);
            // Not from here: this continuation can run as a microtask inside Node's HTTP/2 receive
            // loop (nghttp2_session_mem_recv), and destroying the session re-entrantly corrupts
            // the heap ("corrupted size vs. prev_size", test/emulator/dropChurn.test.ts).
            if (session !== undefined) setImmediate(() => session.destroy());
            else callback({ code: status.UNAVAILABLE, details: "emulated fault: connection dropped" });
          }
        },
        (err: unknown) => callback({ code: status.INTERNAL, details: `emulator error: ${String(err)}` }),
      );
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, credentials, (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return { server, port: bound };
}

/** Stops accepting calls, lets running ones finish for a moment, then forces the rest closed. */
export function stopGrpcServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 1000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
