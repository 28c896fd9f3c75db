/**
 * A webhook's reply is bounded (packages/cli/src/watch/destinations.ts): against real HTTP servers on 127.0.0.1,
 * an endless 200 body is read to 64 KiB and the connection closed, a server that never answers costs
 * one --alert-timeout, a body that stalls after its status ends at the timeout with that status, and
 * an abort (SIGINT/SIGTERM) ends the attempt in flight and every retry at once. What is asserted is
 * what was read and what the server saw, never a duration.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Alert } from "../../packages/cli/src/watch/alert.js";
import {
  type DeliveryOptions,
  MAX_REPLY_BYTES,
  postBounded,
  sendWithRetry,
  webhookDestination,
} from "../../packages/cli/src/watch/destinations.js";
import { ManualClock } from "../helpers/manualClock.js";
import { waitFor } from "../helpers/waitFor.js";

const ALERT: Alert = {
  rule: "r",
  title: "t",
  severity: "high",
  time: "2024-01-01T00:00:00Z",
  key: "k1",
  group: null,
  entries: ['{"timestamp":"2024-01-01T00:00:00Z"}'],
};

interface Started {
  server: Server;
  url: string;
  /** Requests that reached the handler. */
  requests: number;
  /** Body bytes the handler wrote (accepted by the socket) before the client went away. */
  written: number;
  /** Resolves when a connection was closed (by the client: the server never closes one). */
  closed: Promise<void>;
}

async function start(
  handle: (req: IncomingMessage, res: ServerResponse, s: Started) => void,
): Promise<Started> {
  let onClosed: () => void = () => undefined;
  const s = {
    requests: 0,
    written: 0,
    closed: new Promise<void>((resolve) => {
      onClosed = resolve;
    }),
  } as Started;
  s.server = createServer((req, res) => {
    s.requests++;
    req.socket.once("close", onClosed);
    req.resume();
    req.on("end", () => handle(req, res, s));
  });
  s.server.listen(0, "127.0.0.1");
  await once(s.server, "listening");
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/hook`;
  return s;
}

function stop(s: Started): Promise<void> {
  s.server.closeAllConnections();
  return new Promise((resolve) => s.server.close(() => resolve()));
}

/** Writes 16 KiB chunks for as long as the client reads them. */
function endless(_req: IncomingMessage, res: ServerResponse, s: Started): void {
  res.writeHead(200, { "content-type": "application/octet-stream" });
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const pump = () => {
    while (!res.destroyed) {
      s.written += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

const servers: Started[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(stop));
});
async function server(handle: Parameters<typeof start>[0]): Promise<Started> {
  const s = await start(handle);
  servers.push(s);
  return s;
}

it("an endless 200 body: 64 KiB read, the connection closed, the alert delivered", async () => {
  const s = await server(endless);
  const reply = await postBounded(s.url, {}, "{}", { timeoutMs: 60_000 });
  expect(reply).toEqual({ status: 200, retryAfter: undefined, bodyBytes: MAX_REPLY_BYTES });
  await s.closed;
  // The socket buffers hold what was written but not read; nowhere near what 60 s of streaming is.
  expect(s.written).toBeLessThan(64 * 1024 * 1024);
  const options: DeliveryOptions = { attempts: 1, backoffMs: 1, timeoutMs: 60_000 };
  const dest = webhookDestination(s.url, "json", options);
  expect(await sendWithRetry(dest, ALERT, "{}", options)).toBeUndefined();
});

it("a server that never answers: the attempt fails after --alert-timeout, and each retry alike", async () => {
  const s = await server(() => undefined);
  const options: DeliveryOptions = { attempts: 2, backoffMs: 1, timeoutMs: 300 };
  const dest = webhookDestination(s.url, "json", options);
  expect(await sendWithRetry(dest, ALERT, "{}", options)).toEqual({
    error: "no answer within 300 ms",
    attempts: 2,
  });
  expect(s.requests).toBe(2);
});

it("a status then a stalled body: the status is the answer at the timeout", async () => {
  const s = await server((_req, res) => {
    res.writeHead(503, { "retry-after": "7" });
    res.write("partial");
  });
  const reply = await postBounded(s.url, {}, "{}", { timeoutMs: 300 });
  expect(reply).toEqual({ status: 503, retryAfter: "7", bodyBytes: 7 });
  await s.closed;
});

it("an abort ends the attempt in flight and no retry follows", async () => {
  const s = await server(() => undefined);
  const controller = new AbortController();
  const options: DeliveryOptions = {
    attempts: 5,
    backoffMs: 60_000,
    timeoutMs: 600_000,
    signal: controller.signal,
  };
  const dest = webhookDestination(s.url, "json", options);
  const sent = sendWithRetry(dest, ALERT, "{}", options);
  await waitFor(() => s.requests > 0, { what: "the webhook's request" });
  controller.abort();
  expect(await sent).toEqual({ error: "interrupted (SIGINT/SIGTERM) before an answer", attempts: 1 });
  await s.closed;
});

it("an abort during the backoff before a retry ends it", async () => {
  const s = await server((_req, res) => {
    res.writeHead(500).end();
  });
  const controller = new AbortController();
  const clock = new ManualClock();
  const options: DeliveryOptions = {
    attempts: 5,
    backoffMs: 600_000,
    timeoutMs: 60_000,
    signal: controller.signal,
    clock,
  };
  const sent = sendWithRetry(webhookDestination(s.url, "json", options), ALERT, "{}", options);
  // The first attempt failed and sendWithRetry waits its backoff on the clock, which never moves.
  await clock.untilSleeping();
  controller.abort();
  expect(await sent).toEqual({
    error: "HTTP 500; interrupted (SIGINT/SIGTERM) before the next attempt",
    attempts: 1,
  });
  expect(s.requests).toBe(1);
});
