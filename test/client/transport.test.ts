/**
 * The client's own gRPC transport (src/client/transport) against loopback HTTP/2 servers that
 * reply frame by frame as real servers and proxies can: every way a call can end maps to the error
 * family gRPC's spec gives it, nothing over the receive limit is buffered, deadlines and aborts end
 * calls at once, and the PAT is in no error.
 */
import { rmSync } from "node:fs";
import { constants, type ServerHttp2Stream } from "node:http2";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { inspect } from "node:util";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { AuditLogClientOptions } from "../../packages/client/src/client/config.js";
import { SUPPORTED_CHANNEL_OPTIONS } from "../../packages/client/src/client/transport/channelOptions.js";
import { decodeGrpcMessage, grpcTimeout } from "../../packages/client/src/client/transport/wire.js";
import {
  AuthenticationError,
  CanceledError,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "../../packages/client/src/errors.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { failure as failAndKeep, PAT } from "./fixtures.js";
import {
  emptySuccess,
  framed,
  type H2Server,
  type Handler,
  replyOk,
  resetStream,
  startH2Server,
} from "./h2Server.js";

const servers: H2Server[] = [];
const clients: AuditLogClient[] = [];
/** Every error a test saw, for the PAT check at the end. */
const seen: unknown[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
});

async function serve(handler: Handler, tls?: { cert: Buffer; key: Buffer }): Promise<H2Server> {
  const server = await startH2Server(handler, tls);
  servers.push(server);
  return server;
}

function client(port: number, options: AuditLogClientOptions = {}): AuditLogClient {
  const c = new AuditLogClient({
    pat: PAT,
    userId: "alfrick",
    endpoint: `127.0.0.1:${port}`,
    insecure: true,
    retry: false,
    ...options,
  });
  clients.push(c);
  return c;
}

const failure = (p: Promise<unknown>) => failAndKeep(p, seen);

/** Resolves with the stream's RST_STREAM code once the server's side of it has closed. */
function closedWith(stream: ServerHttp2Stream): Promise<number> {
  return new Promise((resolve) => {
    if (stream.closed) resolve(stream.rstCode ?? 0);
    else stream.on("close", () => resolve(stream.rstCode ?? 0));
  });
}

describe("status", () => {
  it("a trailers-only error: the status and percent-decoded message from the headers", async () => {
    const server = await serve((stream) =>
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": "7",
          "grpc-message": "no%20access%20to%20%E2%9C%93%zz",
        },
        { endStream: true },
      ),
    );
    const e = await failure(client(server.port).search());
    expect(e).toBeInstanceOf(PermissionError);
    expect(e.grpcCode).toBe(7);
    // A malformed escape is kept as sent.
    expect(e.description).toBe("no access to ✓%zz");
  });

  it("an error status in the trailers after headers", async () => {
    const server = await serve((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": "16", "grpc-message": "bad key" }),
      );
      stream.end();
    });
    const e = await failure(client(server.port).search());
    expect(e).toBeInstanceOf(AuthenticationError);
    expect([e.grpcCode, e.description]).toEqual([16, "bad key"]);
  });

  it.each([
    [503, UnavailableError, 14, true],
    [429, UnavailableError, 14, true],
    [401, AuthenticationError, 16, false],
    [404, ServerError, 12, false],
  ])(
    "HTTP %i without grpc-status is mapped by the spec's table",
    async (status, cls, grpcCode, retryable) => {
      const server = await serve((stream) => {
        stream.respond({ ":status": status, "content-type": "text/html" });
        stream.end("<html>busy</html>");
      });
      const e = await failure(client(server.port).search());
      expect(e).toBeInstanceOf(cls);
      expect([e.grpcCode, e.retryable]).toEqual([grpcCode, retryable]);
      expect(e.description).toContain(`HTTP status ${status}`);
    },
  );

  it("a 503 is retried like UNAVAILABLE, and the retry succeeds", async () => {
    let n = 0;
    const server = await serve((stream) => {
      if (++n === 1) {
        stream.respond({ ":status": 503 }, { endStream: true });
      } else replyOk(stream);
    });
    const page = await client(server.port, { retry: { initialDelayMs: 1, maxDelayMs: 2 } }).search();
    expect([page.attempts, page.reqId]).toEqual([2, "req-h2"]);
  });

  it("a 200 that is not application/grpc is a ServerError", async () => {
    const server = await serve((stream) => {
      stream.respond({ ":status": 200, "content-type": "text/plain" });
      stream.end("hello");
    });
    const e = await failure(client(server.port).search());
    expect(e).toBeInstanceOf(ServerError);
    expect(e.description).toContain("content-type");
  });
});

describe("resets and lost connections", () => {
  it.each([
    [constants.NGHTTP2_INTERNAL_ERROR, UnavailableError, 13, true],
    [constants.NGHTTP2_PROTOCOL_ERROR, UnavailableError, 13, true],
    [constants.NGHTTP2_REFUSED_STREAM, UnavailableError, 14, true],
    [constants.NGHTTP2_ENHANCE_YOUR_CALM, RateLimitError, 8, true],
    [constants.NGHTTP2_CANCEL, CanceledError, 1, false],
  ])("RST_STREAM code %i mid-reply", async (code, cls, grpcCode, retryable) => {
    const server = await serve((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      // Half a message, then the reset.
      stream.write(framed(emptySuccess()).subarray(0, 4), () => resetStream(stream, code));
    });
    const e = await failure(client(server.port).search());
    expect(e).toBeInstanceOf(cls);
    expect([e.grpcCode, e.retryable]).toEqual([grpcCode, retryable]);
    if (cls === CanceledError) expect(e.codeName).toBe("RPC_CANCELED");
  });

  it("a reply ended without a gRPC status is cut off, retried like UNAVAILABLE", async () => {
    const server = await serve((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.end(framed(emptySuccess()));
    });
    const e = await failure(client(server.port).search());
    expect(e).toBeInstanceOf(UnavailableError);
    expect([e.grpcCode, e.retryable]).toEqual([13, true]);
    expect(e.description).toMatch(/without a gRPC status/);
  });

  it("after a GOAWAY the next call goes on a new connection", async () => {
    const server = await serve((stream, call) => {
      // GOAWAY first, naming this call's stream as the last one served: its reply still comes.
      call.session.goaway(constants.NGHTTP2_NO_ERROR, stream.id);
      replyOk(stream);
    });
    const c = client(server.port);
    for (let i = 0; i < 3; i++) expect((await c.search()).reqId).toBe("req-h2");
    expect(server.sessions).toBe(3);
  });

  it("a connection the server closed after a reply is made anew for the next call", async () => {
    const server = await serve((stream, call) => {
      replyOk(stream);
      stream.on("close", () => call.session.destroy());
    });
    const c = client(server.port, { retry: { initialDelayMs: 1, maxDelayMs: 2 } });
    for (let i = 0; i < 3; i++) expect((await c.search()).reqId).toBe("req-h2");
    expect(server.sessions).toBeGreaterThanOrEqual(2);
  });

  it("a connection dropped with the call in flight: UnavailableError, retried on a new connection", async () => {
    const server = await serve((stream, call) => {
      if (server.calls.length === 1) call.session.destroy();
      else replyOk(stream);
    });
    const once = await failure(client(server.port).search());
    expect(once).toBeInstanceOf(UnavailableError);
    expect(once.retryable).toBe(true);
    const page = await client(server.port, { retry: { initialDelayMs: 1, maxDelayMs: 2 } }).search();
    expect(page.attempts).toBe(1);
    expect(server.sessions).toBe(2);
  });
});

describe("message limits and framing", () => {
  it("an over-size reply is refused from its prefix, before the message is buffered", async () => {
    const declared = 100 * 1024 * 1024;
    let written = 0;
    let resetCode: Promise<number> | undefined;
    const server = await serve((stream) => {
      resetCode = closedWith(stream);
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const prefix = framed(Buffer.alloc(0), 0, declared);
      // Writes as fast as the client's flow control lets it, until the client resets the stream.
      const next = () => {
        if (stream.closed || stream.destroyed || written >= declared) return;
        const data = written === 0 ? Buffer.concat([prefix, chunk]) : chunk;
        written += data.length;
        stream.write(data, next);
      };
      next();
    });
    const c = client(server.port, { channelOptions: { "grpc.max_receive_message_length": 1024 * 1024 } });
    const e = await failure(c.search());
    expect(e).toBeInstanceOf(ServerError);
    expect(e.codeName).toBe("RPC_MAX_MESSAGE_SIZE_EXCEEDED");
    expect([e.grpcCode, e.retryable, e.attempts]).toEqual([8, false, 1]);
    expect(e.description).toContain(`${declared} vs. ${1024 * 1024}`);
    // The client reset the stream: the server could send no more than the flow-control window
    // (8 MiB) and what was in flight, far from the 100 MiB declared.
    expect(await resetCode).toBe(constants.NGHTTP2_CANCEL);
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });

  it("a request over the send limit is refused without sending it", async () => {
    const server = await serve((stream) => replyOk(stream));
    const e = await failure(
      client(server.port, { channelOptions: { "grpc.max_send_message_length": 4 } }).search(),
    );
    expect(e).toBeInstanceOf(ServerError);
    expect(e.codeName).toBe("RPC_MAX_MESSAGE_SIZE_EXCEEDED");
    expect(server.calls).toHaveLength(0);
  });

  it.each([
    ["a compressed message (flag 1), though none was negotiated", framed(emptySuccess(), 1), /compressed/],
    ["a malformed prefix (flag 7)", framed(emptySuccess(), 7), /flag byte 7/],
    ["a message cut short", framed(emptySuccess(), 0, 1000), /inside a message/],
    [
      "two messages in a unary reply",
      Buffer.concat([framed(emptySuccess()), framed(emptySuccess())]),
      /more than one/,
    ],
    ["no message", Buffer.alloc(0), /without a message/],
  ])("%s: a ServerError, not retried", async (_name, body, words) => {
    const server = await serve((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(body);
    });
    const e = await failure(client(server.port, { retry: { initialDelayMs: 1, maxDelayMs: 2 } }).search());
    expect(e).toBeInstanceOf(ServerError);
    expect([e.grpcCode, e.retryable, e.attempts]).toEqual([13, false, 1]);
    expect(e.description).toMatch(words);
  });

  it("a status OK whose message is not a reply is a ServerError", async () => {
    const server = await serve((stream) => replyOk(stream, Buffer.from([0xff, 0xff, 0xff])));
    const e = await failure(client(server.port).search());
    expect(e).toBeInstanceOf(ServerError);
    expect(e.description).toMatch(/cannot read the server's reply/);
  });
});

describe("deadlines, aborts and close", () => {
  it("a server that never answers: TimeoutError at the deadline, which the server was told", async () => {
    const server = await serve(() => {});
    const e = await failure(client(server.port, { timeoutMs: 150 }).search());
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.grpcCode).toBe(4);
    const timeout = String(server.calls[0].headers["grpc-timeout"]);
    expect(timeout).toMatch(/^\d{1,8}m$/);
    expect(Number.parseInt(timeout, 10)).toBeLessThanOrEqual(150);
  });

  it("a server that takes the connection and never speaks HTTP/2: bounded by the deadline", async () => {
    const sockets: Socket[] = [];
    const tcp = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    try {
      const e = await failure(client((tcp.address() as AddressInfo).port, { timeoutMs: 150 }).search());
      expect(e).toBeInstanceOf(TimeoutError);
      expect(sockets.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(r));
    }
  });

  it("an abort mid-call: CanceledError at once, and the stream is reset", async () => {
    let closed: Promise<number> | undefined;
    let arrived: () => void = () => {};
    const reached = new Promise<void>((r) => {
      arrived = r;
    });
    const server = await serve((stream) => {
      closed = closedWith(stream);
      arrived();
    });
    const ac = new AbortController();
    const call = failure(client(server.port, { timeoutMs: 3_600_000 }).search({}, { signal: ac.signal }));
    await reached;
    ac.abort();
    const e = await call;
    expect(e).toBeInstanceOf(CanceledError);
    expect([e.codeName, e.grpcCode]).toEqual(["REQUEST_CANCELED_BY_USER", 1]);
    expect(await closed).toBe(constants.NGHTTP2_CANCEL);
  });

  it("close() fails the calls in flight and refuses later ones", async () => {
    let arrived: () => void = () => {};
    const reached = new Promise<void>((r) => {
      arrived = r;
    });
    const server = await serve(() => arrived());
    const c = client(server.port, { timeoutMs: 3_600_000 });
    const call = failure(c.search());
    await reached;
    c.close();
    const e = await call;
    expect(e).toBeInstanceOf(CanceledError);
    expect(e.grpcCode).toBe(1);
    expect(await failure(c.search())).toBeInstanceOf(ValidationError);
  });

  it("keepalive pings are sent while a call waits", async () => {
    let pings = 0;
    const server = await serve((stream, call) => {
      // Answers only after two pings: the call cannot succeed without them.
      const onPing = () => {
        if (++pings === 2) {
          call.session.off("ping", onPing);
          replyOk(stream);
        }
      };
      call.session.on("ping", onPing);
    });
    const c = client(server.port, {
      timeoutMs: 60_000,
      channelOptions: { "grpc.keepalive_time_ms": 20, "grpc.keepalive_timeout_ms": 10_000 },
    });
    expect((await c.search()).reqId).toBe("req-h2");
    expect(pings).toBeGreaterThanOrEqual(2);
  });
});

describe("TLS", () => {
  let tls: TestTls;
  beforeAll(() => {
    tls = makeTestTls();
  });
  afterAll(() => rmSync(tls.dir, { recursive: true, force: true }));

  it("trusts a custom CA, checks the name, and takes a name override", async () => {
    const server = await serve((stream) => replyOk(stream), { cert: tls.cert, key: tls.key });
    const opts = { insecure: false, rootCerts: tls.ca };
    expect(
      (await client(server.port, { ...opts, endpoint: `localhost:${server.port}` }).search()).reqId,
    ).toBe("req-h2");
    // The certificate names localhost and 127.0.0.1; an override checks it against another name.
    const wrong = await failure(
      client(server.port, {
        ...opts,
        channelOptions: { "grpc.ssl_target_name_override": "example.com" },
      }).search(),
    );
    expect(wrong).toBeInstanceOf(UnavailableError);
    expect(wrong.retryable).toBe(false);
    const right = client(server.port, {
      ...opts,
      channelOptions: { "grpc.ssl_target_name_override": "localhost" },
    });
    expect((await right.search()).reqId).toBe("req-h2");
    expect(server.calls.every((c) => c.headers[":scheme"] === "https")).toBe(true);
  });

  it("takes the CA from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, as gRPC libraries do", async () => {
    const server = await serve((stream) => replyOk(stream), { cert: tls.cert, key: tls.key });
    const saved = process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
    try {
      process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = tls.caPath;
      const c = client(server.port, { insecure: false, endpoint: `localhost:${server.port}` });
      expect((await c.search()).reqId).toBe("req-h2");
      process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = `${tls.dir}/missing.pem`;
      expect(() => client(server.port, { insecure: false })).toThrow(
        /^GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: cannot read it \(ENOENT\)/,
      );
    } finally {
      if (saved === undefined) delete process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
      else process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = saved;
    }
  });

  it("without the CA the certificate is refused, not retried", async () => {
    const server = await serve((stream) => replyOk(stream), { cert: tls.cert, key: tls.key });
    const e = await failure(
      client(server.port, { insecure: false, endpoint: `localhost:${server.port}`, retry: {} }).search(),
    );
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toContain("certificate");
    expect([e.retryable, e.attempts]).toEqual([false, 1]);
    expect(server.calls).toHaveLength(0);
  });
});

describe("options", () => {
  it("refuses an unsupported channel option, naming it and the supported ones", () => {
    let error: unknown;
    try {
      client(1, { channelOptions: { "grpc.initial_reconnect_backoff_ms": 100 } as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.field).toBe("channelOptions.grpc.initial_reconnect_backoff_ms");
    expect(v.message.split("\n")).toHaveLength(1);
    for (const key of SUPPORTED_CHANNEL_OPTIONS) expect(v.allowed).toContain(key);
    expect(() => client(1, { channelOptions: { "grpc.max_receive_message_length": 1.5 } })).toThrow(
      /channelOptions\.grpc\.max_receive_message_length: invalid channel option/,
    );
  });

  it("sends gRPC's headers, the authority and user agent asked for, and metadata from getMap()", async () => {
    const server = await serve((stream) => replyOk(stream));
    const c = client(server.port, {
      channelOptions: { "grpc.default_authority": "audit.example:443", "grpc.primary_user_agent": "svc/1.0" },
    });
    const bin = Buffer.from([0, 1, 254, 255]);
    await c.search({}, { metadata: { getMap: () => ({ "X-Tag": "t1", "x-trace-bin": bin }) } });
    const h = server.calls[0].headers;
    expect(h[":method"]).toBe("POST");
    expect(h[":path"]).toBe("/clarifai.api.V2/PostAuditLogSearches");
    expect(h[":authority"]).toBe("audit.example:443");
    expect(h["content-type"]).toBe("application/grpc");
    expect(h.te).toBe("trailers");
    expect(h["user-agent"]).toMatch(/^svc\/1\.0 /);
    expect(h["x-tag"]).toBe("t1");
    expect(Buffer.from(String(h["x-trace-bin"]), "base64")).toEqual(bin);
    expect(h.authorization).toBe(`Key ${PAT}`);
    // The request is one uncompressed length-prefixed message.
    const body = server.calls[0].body;
    expect(body[0]).toBe(0);
    expect(body.readUInt32BE(1)).toBe(body.length - 5);
  });
});

describe("wire helpers", () => {
  it("grpc-timeout grows its unit to stay within 8 digits, rounding up", () => {
    expect(grpcTimeout(150)).toBe("150m");
    expect(grpcTimeout(99_999_999)).toBe("99999999m");
    expect(grpcTimeout(100_000_000)).toBe("100000S");
    expect(grpcTimeout(99_999_999 * 3_600_000)).toBe("99999999H");
    expect(grpcTimeout(0.2)).toBe("1m");
  });
  it("grpc-message percent-decoding keeps what is not an escape", () => {
    expect(decodeGrpcMessage("a%20b%")).toBe("a b%");
    expect(decodeGrpcMessage("100%")).toBe("100%");
    expect(decodeGrpcMessage("%E2%9C%93")).toBe("✓");
  });
});

describe("the PAT never shows", () => {
  it("in any error, even when the server echoes it", async () => {
    const server = await serve((stream) =>
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": "16",
          "grpc-message": `bad ${PAT}`,
        },
        { endStream: true },
      ),
    );
    const echoed = await failure(client(server.port).search());
    expect(echoed.description).toBe("bad [REDACTED]");
    expect(seen.length).toBeGreaterThan(20);
    for (const item of seen) {
      const e = item as Error;
      for (const text of [
        e.message,
        e.stack ?? "",
        String(e),
        JSON.stringify(e),
        inspect(e, { depth: 10 }),
      ]) {
        expect(text).not.toContain(PAT);
      }
    }
  });
});
