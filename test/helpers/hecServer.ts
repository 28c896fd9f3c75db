/**
 * A Splunk HTTP Event Collector for tests: an HTTPS server on 127.0.0.1 (test/helpers/tls.ts's
 * throwaway CA) that follows the protocol Splunk documents ("Format events for HTTP Event
 * Collector", "About HTTP Event Collector Indexer Acknowledgment", "Troubleshoot HTTP Event
 * Collector"'s status codes):
 * - `Authorization: Splunk <token>`: none → 401 code 2, another scheme → 401 code 3, an unknown
 *   token → 403 code 4, a disabled one → 403 code 1;
 * - POST /services/collector/event (and /services/collector): events as concatenated JSON objects;
 *   empty → 400 code 5; unreadable → 400 code 6 with `invalid-event-number`; no `event` → code 12;
 *   a blank one → code 13; an index outside the token's → code 7; indexed fields that are not
 *   flat strings → code 15. With acknowledgement on, `X-Splunk-Request-Channel` (or `?channel=`)
 *   is required (code 10) and must be a UUID (code 11), and the reply carries the channel's next
 *   `ackId`. A refused batch indexes nothing (Splunk may keep the events before the bad one: the
 *   transport never resends a refused batch, so the difference does not matter to it);
 * - POST /services/collector/ack `{"acks":[…]}` → `{"acks":{"N":bool}}`; an id turns true
 *   `ackDelayMs` after its batch was taken, and is forgotten once reported true (as Splunk does);
 *   acks off → 400 code 14;
 * - GET /services/collector/health → 200 code 17, or 503 code 18 while busy;
 * - injected faults: the next N event POSTs answered 503 code 9 or 429 (with Retry-After), and
 *   batches "lost" (taken, acked never: what a crashed indexer looks like to a client).
 *
 * It records every event it indexed, with the entry id (`fields.clarifai_entry_id`) and the
 * envelope's `time` as its exact text, so tests count duplicates and check precision. Request
 * bodies are bounded (413 above `maxBodyBytes`).
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { makeTestTls, type TestTls } from "./tls.js";

/** An event as indexed. */
export interface IndexedEvent {
  /** `fields.clarifai_entry_id` ("" when absent). */
  id: string;
  /** The envelope's `time` as sent (its exact text), or undefined. */
  time: string | undefined;
  envelope: Record<string, unknown>;
  channel: string | undefined;
}

/** Options of {@link startHecServer}. */
export interface HecServerOptions {
  /** Valid tokens (default: one random token, {@link HecServer.token}). */
  tokens?: string[];
  /** Tokens that exist but are disabled (403 code 1). */
  disabledTokens?: string[];
  /** Indexer acknowledgement on (default true). */
  ack?: boolean;
  /** Indexes the tokens may write (default: any). */
  indexes?: string[];
  /** Delay before a batch's ack turns true (default 0). */
  ackDelayMs?: number;
  /** Largest request body read (default 8 MiB). */
  maxBodyBytes?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Plain HTTP instead of HTTPS. */
  plain?: boolean;
  /** Certificates (default: a fresh {@link makeTestTls}). */
  tls?: TestTls;
  /** Keep the events and bodies taken (default true); false: count them only (benchmarks). */
  record?: boolean;
}

/** A fault injected into the next event POSTs. */
export interface HecFault {
  status: 503 | 429 | 500;
  /** Retry-After header value. */
  retryAfter?: string;
}

/** A running test collector. */
export interface HecServer {
  readonly port: number;
  readonly host: string;
  readonly tls: TestTls;
  /** The first valid token. */
  readonly token: string;
  /** `splunk+https://127.0.0.1:PORT` plus `?query` when given. */
  url(query?: string): string;
  /** Every event indexed, in order. */
  readonly events: IndexedEvent[];
  /** Raw bodies of the event POSTs taken. */
  readonly bodies: string[];
  /** Events taken (indexed), kept or not. */
  readonly taken: number;
  /** Every request: method, path, status, and when it arrived (performance.now()). */
  readonly requests: { method: string; path: string; status: number; at: number; channel?: string }[];
  /** How often each entry id was indexed. */
  counts(): Map<string, number>;
  /** The next `n` event POSTs are answered with `fault` (nothing indexed). */
  fail(n: number, fault: HecFault): void;
  /** The next `n` batches taken are lost: answered 200 with an ack id that never turns true, not indexed. */
  lose(n: number): void;
  /** Changes the delay before acks turn true (Infinity: never, until set lower). */
  setAckDelay(ms: number): void;
  /** Ack ids handed out and not yet reported true. */
  pendingAcks(): number;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One batch waiting for its ack. */
interface Batch {
  readyAt: number;
  lost: boolean;
}

/**
 * Splits a body into its top-level JSON objects (white space between them allowed), each with the
 * raw text of its top-level `time` member. Throws with the index of the first unreadable one.
 */
export function splitEvents(body: string): { text: string; time: string | undefined }[] {
  const out: { text: string; time: string | undefined }[] = [];
  let i = 0;
  const n = body.length;
  // Char codes, not regular expressions: a benchmark's megabytes go through here.
  const space = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;
  while (i < n) {
    while (i < n && space(body.charCodeAt(i))) i++;
    if (i >= n) break;
    if (body.charCodeAt(i) !== 123) throw Object.assign(new Error("not an object"), { index: out.length });
    const start = i;
    let depth = 0;
    let keyStart = -1;
    let expectKey = false;
    let isTime = false;
    let time: string | undefined;
    let timeStart = -1;
    for (; i < n; i++) {
      const c = body.charCodeAt(i);
      if (c === 34) {
        // A string: skip to its closing quote (escapes skipped whole).
        keyStart = i;
        for (i++; i < n; i++) {
          const d = body.charCodeAt(i);
          if (d === 92) i++;
          else if (d === 34) break;
        }
        if (depth === 1 && expectKey) isTime = i - keyStart === 5 && body.startsWith("time", keyStart + 1);
        continue;
      }
      if (c === 123 || c === 91) {
        depth++;
        if (depth === 1) expectKey = true;
      } else if (depth === 1 && c === 58) {
        expectKey = false;
        if (isTime) timeStart = i + 1;
      } else if (depth === 1 && c === 44) {
        if (timeStart >= 0 && time === undefined) time = body.slice(timeStart, i).trim();
        expectKey = true;
        isTime = false;
      } else if (c === 125 || c === 93) {
        if (depth === 1 && timeStart >= 0 && time === undefined) time = body.slice(timeStart, i).trim();
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) throw Object.assign(new Error("unterminated object"), { index: out.length });
    out.push({ text: body.slice(start, i), time: time?.replace(/^"|"$/g, "") });
  }
  return out;
}

/** Starts a test collector on an ephemeral port. */
export async function startHecServer(o: HecServerOptions = {}): Promise<HecServer> {
  const tls = o.tls ?? makeTestTls();
  const tokens = new Set(o.tokens ?? [randomUUID()]);
  const disabled = new Set(o.disabledTokens ?? []);
  const ack = o.ack ?? true;
  const maxBody = o.maxBodyBytes ?? 8 * 1024 * 1024;
  let ackDelay = o.ackDelayMs ?? 0;
  const events: IndexedEvent[] = [];
  const bodies: string[] = [];
  const requests: HecServer["requests"] = [];
  const faults: HecFault[] = [];
  let toLose = 0;
  let taken = 0;
  const record = o.record ?? true;
  /** channel → next ack id and the batches awaiting their ack. */
  const channels = new Map<string, { next: number; batches: Map<number, Batch> }>();

  const reply = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(text);
    return status;
  };
  const code = (res: ServerResponse, status: number, c: number, text: string, extra: object = {}) =>
    reply(res, status, { text, code: c, ...extra });

  async function readBody(req: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return undefined;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  function authorize(req: IncomingMessage, res: ServerResponse): number | undefined {
    const auth = req.headers.authorization;
    if (auth === undefined) return code(res, 401, 2, "Token is required");
    const m = /^Splunk (\S+)$/.exec(auth);
    if (m === null) return code(res, 401, 3, "Invalid authorization");
    if (disabled.has(m[1] as string)) return code(res, 403, 1, "Token disabled");
    if (!tokens.has(m[1] as string)) return code(res, 403, 4, "Invalid token");
    return undefined;
  }

  function channelOf(req: IncomingMessage, url: URL): string | undefined {
    const h = req.headers["x-splunk-request-channel"];
    return (Array.isArray(h) ? h[0] : h) ?? url.searchParams.get("channel") ?? undefined;
  }

  function checkEvent(e: unknown): [number, string] | undefined {
    if (typeof e !== "object" || e === null || Array.isArray(e)) return [6, "Invalid data format"];
    const env = e as Record<string, unknown>;
    if (!("event" in env)) return [12, "Event field is required"];
    if (env.event === "" || env.event === null) return [13, "Event field cannot be blank"];
    if (env.time !== undefined && !/^-?\d+(\.\d+)?$/.test(String(env.time)))
      return [6, "Invalid data format"];
    if (
      env.index !== undefined &&
      (typeof env.index !== "string" || (o.indexes && !o.indexes.includes(env.index)))
    )
      return [7, "Incorrect index"];
    if (env.fields !== undefined) {
      const f = env.fields;
      if (typeof f !== "object" || f === null || Array.isArray(f))
        return [15, "Error in handling indexed fields"];
      for (const v of Object.values(f))
        if (typeof v === "object" && v !== null && !Array.isArray(v))
          return [15, "Error in handling indexed fields"];
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const url = new URL(req.url ?? "/", "https://hec.test");
    const path = url.pathname.replace(/\/+$/, "");
    if (
      req.method === "GET" &&
      (path === "/services/collector/health" || path === "/services/collector/health/1.0")
    )
      return faults.length > 0
        ? code(res, 503, 18, "HEC is unhealthy, queues are full")
        : code(res, 200, 17, "HEC is healthy");
    if (req.method !== "POST") return code(res, 404, 404, "The requested URL was not found on this server.");
    const isEvent =
      path === "/services/collector/event" ||
      path === "/services/collector" ||
      path === "/services/collector/event/1.0";
    const isAck = path === "/services/collector/ack";
    if (!isEvent && !isAck) return code(res, 404, 404, "The requested URL was not found on this server.");
    const body = await readBody(req);
    if (body === undefined) {
      res.setHeader("connection", "close");
      return code(res, 413, 413, "Content-Length of request exceeds max_content_length");
    }
    const denied = authorize(req, res);
    if (denied !== undefined) return denied;
    const channel = channelOf(req, url);
    if (isAck) {
      if (!ack) return code(res, 400, 14, "ACK is disabled");
      if (channel === undefined) return code(res, 400, 10, "Data channel is missing");
      if (!UUID.test(channel)) return code(res, 400, 11, "Invalid data channel");
      let ids: unknown;
      try {
        ids = (JSON.parse(body) as { acks?: unknown }).acks;
      } catch {
        return code(res, 400, 6, "Invalid data format");
      }
      if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0))
        return code(res, 400, 6, "Invalid data format");
      const ch = channels.get(channel);
      const now = performance.now();
      const acks: Record<string, boolean> = {};
      for (const id of ids as number[]) {
        const b = ch?.batches.get(id);
        const done = b !== undefined && !b.lost && now >= b.readyAt;
        acks[String(id)] = done;
        if (done) ch?.batches.delete(id);
      }
      return reply(res, 200, { acks });
    }
    if (ack && channel === undefined) return code(res, 400, 10, "Data channel is missing");
    if (channel !== undefined && !UUID.test(channel)) return code(res, 400, 11, "Invalid data channel");
    const fault = faults.shift();
    if (fault !== undefined)
      return fault.status === 503
        ? reply(
            res,
            503,
            { text: "Server is busy", code: 9 },
            fault.retryAfter ? { "retry-after": fault.retryAfter } : {},
          )
        : fault.status === 429
          ? reply(
              res,
              429,
              { text: "Too many requests", code: 9 },
              fault.retryAfter ? { "retry-after": fault.retryAfter } : {},
            )
          : code(res, 500, 8, "Internal server error");
    if (body.trim() === "") return code(res, 400, 5, "No data");
    let parts: { text: string; time: string | undefined }[];
    try {
      parts = splitEvents(body);
    } catch (e) {
      return code(res, 400, 6, "Invalid data format", {
        "invalid-event-number": (e as { index: number }).index,
      });
    }
    const batch: IndexedEvent[] = [];
    for (const [i, p] of parts.entries()) {
      let env: unknown;
      try {
        env = JSON.parse(p.text);
      } catch {
        return code(res, 400, 6, "Invalid data format", { "invalid-event-number": i });
      }
      const bad = checkEvent(env);
      if (bad !== undefined) return code(res, 400, bad[0], bad[1], { "invalid-event-number": i });
      const fields = (env as { fields?: Record<string, unknown> }).fields;
      batch.push({
        id: typeof fields?.clarifai_entry_id === "string" ? fields.clarifai_entry_id : "",
        time: p.time,
        envelope: env as Record<string, unknown>,
        channel,
      });
    }
    const lost = toLose > 0;
    if (lost) toLose--;
    else {
      taken += batch.length;
      if (record) {
        events.push(...batch);
        bodies.push(body);
      }
    }
    if (!ack) return code(res, 200, 0, "Success");
    const ch = channels.get(channel as string) ?? { next: 0, batches: new Map<number, Batch>() };
    channels.set(channel as string, ch);
    const ackId = ch.next++;
    ch.batches.set(ackId, { readyAt: performance.now() + ackDelay, lost });
    return reply(res, 200, { text: "Success", code: 0, ackId });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const at = performance.now();
    const entry: HecServer["requests"][number] = {
      method: req.method ?? "",
      path: req.url ?? "",
      status: 0,
      at,
    };
    const ch = req.headers["x-splunk-request-channel"];
    if (typeof ch === "string") entry.channel = ch;
    requests.push(entry);
    handle(req, res).then(
      (status) => {
        entry.status = status;
      },
      () => {
        entry.status = 500;
        if (!res.headersSent) code(res, 500, 8, "Internal server error");
      },
    );
  };
  const server = o.plain
    ? createHttpServer(listener)
    : createHttpsServer({ cert: tls.cert, key: tls.key }, listener);
  const host = o.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host,
    tls,
    token: [...tokens][0] as string,
    url: (query) => `splunk+${o.plain ? "http" : "https"}://${host}:${port}${query ? `?${query}` : ""}`,
    events,
    bodies,
    get taken() {
      return taken;
    },
    requests,
    counts() {
      const m = new Map<string, number>();
      for (const e of events) m.set(e.id, (m.get(e.id) ?? 0) + 1);
      return m;
    },
    fail(n, fault) {
      for (let i = 0; i < n; i++) faults.push(fault);
    },
    lose(n) {
      toLose += n;
    },
    setAckDelay(ms) {
      ackDelay = ms;
      // Batches already waiting follow the new delay too (Infinity holds them, a lower one frees them).
      for (const ch of channels.values())
        for (const b of ch.batches.values())
          b.readyAt = ms === Number.POSITIVE_INFINITY ? ms : performance.now() + ms;
    },
    pendingAcks() {
      let n = 0;
      for (const ch of channels.values()) n += ch.batches.size;
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
