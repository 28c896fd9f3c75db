/**
 * Delivery to Splunk's HTTP Event Collector: the {@link DeliveryTransport} of the at-least-once
 * store (../delivery/deliveryStore.ts), which writes its state only once `send` resolves.
 *
 * - `connect` proves the token before anything is sent: it asks `/services/collector/ack` about
 *   ack id 0 on our channel, which every collector answers after checking the token: 200 (indexer
 *   acknowledgement on), 400 code 14 (off), 401/403 (the token refused: a one-line
 *   SyncUsageError); a receiver without that endpoint (404) is asked with an empty event POST
 *   (400 code 5 "No data" once the token passed). A TLS failure (unknown CA, wrong host name) is
 *   a SyncUsageError too.
 * - `send` POSTs the entries in order as batches (≤ `batch_events` events, ≤ `batch_bytes` bytes) to
 *   `/services/collector/event`, each event carrying the entry id as the indexed field
 *   `clarifai_entry_id`. With acknowledgement on, a batch counts as delivered only once
 *   `/services/collector/ack` says true for its ack id (polled with backoff); a batch not
 *   acknowledged within `ackTimeoutMs` is sent again (the collector may have lost it, or only the
 *   ack: a source of duplicates, by design), at most `ackResends` times, then `send` rejects.
 * - 503 (server busy) and 429 wait as Retry-After says (capped) or with exponential backoff; other
 *   5xx and network failures are retried the same way; after `attempts` a plain Error. 400 with a
 *   code names the problem (7, an index the token may not write: SyncUsageError).
 *
 * The token is registered as a secret (never printed) and sent only in the Authorization header.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { DeliveryMessage, DeliverySession, DeliveryTransport } from "../delivery/deliveryStore.js";
import { tlsRefusal } from "../delivery/tlsTrust.js";
import { SyncUsageError } from "../store.js";
import { HttpFailure, HttpPool } from "./http.js";
import {
  describeReply,
  envelopeWriter,
  type HecReplyBody,
  parseReplyBody,
  splitBatches,
} from "./protocol.js";
import { HEC_TOKEN_ENV, type HecTarget } from "./url.js";

/** Retry, timeout and acknowledgement settings (defaults: {@link HEC_TIMING}). */
export interface HecTiming {
  /** Deadline of one request, connect to last byte. */
  requestTimeoutMs: number;
  /** Attempts of one request over transient failures (503, 429, 5xx, network), the first included. */
  attempts: number;
  /** Wait before the first retry, doubled for each further one up to {@link maxBackoffMs}. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Longest Retry-After honoured (a longer one is waited this long). */
  maxRetryAfterMs: number;
  /** Wait before the second ack poll (the first goes at once); grows ×1.5 up to 2 s. */
  ackPollMs: number;
  /** A batch not acknowledged this long after it was sent is sent again. */
  ackTimeoutMs: number;
  /** Times a batch is sent again for want of an ack before `send` gives up. */
  ackResends: number;
}

/** Defaults: a busy collector gets minutes, not seconds, before a run gives up. */
export const HEC_TIMING: HecTiming = {
  requestTimeoutMs: 30_000,
  attempts: 8,
  backoffMs: 500,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 120_000,
  ackPollMs: 10,
  ackTimeoutMs: 120_000,
  ackResends: 2,
};

/** What the transport needs besides its target. */
export interface HecTransportOptions {
  target: HecTarget;
  /** The HEC token (registered as a secret here). */
  token: string;
  /** Where the token came from, named in a refusal (default {@link HEC_TOKEN_ENV}). */
  tokenSource?: string;
  /**
   * `X-Splunk-Request-Channel` when `connect` is given no session (the delivery store gives the
   * state file's channel, stable for its life); default: a random UUID.
   */
  channel?: string;
  /** PEM of the CA(s) to trust instead of Node's. */
  ca?: Buffer;
  sourcetype: string;
  account?: string;
  timing?: Partial<HecTiming>;
}

/** Counters of a transport's life (tests and the benchmark read them). */
export interface HecStats {
  /** Event POSTs answered 200. */
  batches: number;
  /** Of those, batches sent again because their ack did not come in time. */
  resent: number;
  /** Requests retried after a transient failure (busy, 5xx, network). */
  retries: number;
  /** Ack polls. */
  polls: number;
}

/** A HEC transport, with what `connect` learned. */
export interface HecTransport extends DeliveryTransport {
  /** Whether batches wait for indexer acknowledgement (known after `connect`). */
  readonly acknowledged: boolean | undefined;
  readonly stats: HecStats;
}

/** An answered request. */
interface Answer {
  status: number;
  body: HecReplyBody | undefined;
}

/** A batch sent and not yet acknowledged. */
interface Pending {
  body: string;
  ackId: number;
  sentAt: number;
  resends: number;
}

const EVENT_PATH = "/services/collector/event";
const ACK_PATH = "/services/collector/ack";

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(interrupted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function interrupted(): Error {
  return new Error("delivery interrupted (SIGINT/SIGTERM) before the collector confirmed it");
}

/** Retry-After as ms: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Makes a HEC transport (nothing connects before `connect`). */
export function createHecTransport(o: HecTransportOptions): HecTransport {
  const t = o.target;
  const timing: HecTiming = { ...HEC_TIMING, ...o.timing };
  registerSecret(o.token);
  const pool = new HttpPool({
    host: t.host,
    port: t.port,
    plain: t.plain,
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    timeoutMs: timing.requestTimeoutMs,
  });
  const headers = {
    authorization: `Splunk ${o.token}`,
    "x-splunk-request-channel": o.channel ?? randomUUID(),
    "content-type": "application/json",
    "user-agent": "clarifai-audit",
  };
  const write = envelopeWriter({
    ...(t.index !== undefined ? { index: t.index } : {}),
    ...(t.source !== undefined ? { source: t.source } : {}),
    sourcetype: o.sourcetype,
    ...(t.eventHost !== undefined ? { host: t.eventHost } : {}),
    ...(o.account !== undefined ? { account: o.account } : {}),
  });
  const stats: HecStats = { batches: 0, resent: 0, retries: 0, polls: 0 };
  let acknowledged: boolean | undefined;
  const d = t.description;

  /** The answer to a request that is not transient; retries the transient ones; throws refusals. */
  async function call(path: string, body: string, signal?: AbortSignal, answers?: number[]): Promise<Answer> {
    let delay = timing.backoffMs;
    let last = "";
    for (let attempt = 1; ; attempt++) {
      let wait: number | undefined;
      try {
        const reply = await pool.request("POST", path, headers, body, signal);
        const parsed = parseReplyBody(reply.body);
        const s = reply.status;
        if ((s >= 200 && s < 300) || answers?.includes(s)) return { status: s, body: parsed };
        last = describeReply(s, parsed);
        if (s === 401 || s === 403)
          throw SyncUsageError.store(
            `${d}: the HEC token was refused (${last}); check ${o.tokenSource ?? HEC_TOKEN_ENV}`,
          );
        if (s === 404)
          throw SyncUsageError.store(`${d}: not a Splunk HTTP Event Collector (${last} for ${path})`);
        if (s === 413)
          throw SyncUsageError.store(
            `${d}: the collector refuses requests this large (${last}); lower the URL's batch_bytes`,
          );
        if (s === 400 && parsed?.code === 7)
          throw SyncUsageError.store(
            `${d}: the collector refuses the index${t.index === undefined ? "" : ` ${t.index}`} (${last}): it does not exist or the token may not write it`,
          );
        if (s === 400 && parsed?.code === 14) return { status: s, body: parsed };
        if (s === 503 || s === 429) wait = retryAfterMs(reply.headers["retry-after"]);
        else if (s < 500) throw new Error(`${d}: the collector refused the request (${last})`);
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        if (e.aborted) throw interrupted();
        const refusal = tlsRefusal(d, e.error);
        if (refusal !== undefined) throw refusal;
        last = e.message;
      }
      if (attempt >= timing.attempts)
        throw new Error(`${d}: no success after ${attempt} attempts (last: ${last})`);
      stats.retries++;
      const backoff = delay * (0.8 + Math.random() * 0.4);
      delay = Math.min(delay * 2, timing.maxBackoffMs);
      await sleep(wait === undefined ? backoff : Math.min(wait, timing.maxRetryAfterMs), signal);
    }
  }

  /** POSTs one batch; its ack id when the collector acknowledges, else undefined. */
  async function post(body: string, signal?: AbortSignal): Promise<number | undefined> {
    const a = await call(EVENT_PATH, body, signal);
    if (a.body?.code !== undefined && a.body.code !== 0)
      throw new Error(`${d}: the collector did not take a batch (${describeReply(a.status, a.body)})`);
    stats.batches++;
    crashPoint("hec.batch-sent");
    return typeof a.body?.ackId === "number" ? a.body.ackId : undefined;
  }

  /** Waits until every pending batch is acknowledged, sending again those whose ack is overdue. */
  async function awaitAcks(pending: Map<number, Pending>, signal?: AbortSignal): Promise<void> {
    // The first poll at once: a collector that indexes fast (or a small batch) has acked already.
    let interval = 0;
    while (pending.size > 0) {
      if (interval > 0) await sleep(interval, signal);
      interval = interval === 0 ? timing.ackPollMs : Math.min(interval * 1.5, 2000);
      stats.polls++;
      const a = await call(ACK_PATH, JSON.stringify({ acks: [...pending.keys()] }), signal);
      if (a.status !== 200 || typeof a.body?.acks !== "object" || a.body.acks === null)
        throw new Error(`${d}: unreadable ack reply (${describeReply(a.status, a.body)})`);
      for (const [id, ok] of Object.entries(a.body.acks)) if (ok === true) pending.delete(Number(id));
      const now = performance.now();
      for (const [id, p] of [...pending]) {
        if (now - p.sentAt < timing.ackTimeoutMs) continue;
        if (p.resends >= timing.ackResends)
          throw new Error(
            `${d}: a batch was not acknowledged within ${timing.ackTimeoutMs} ms, ${p.resends + 1} times sent`,
          );
        pending.delete(id);
        const ackId = await post(p.body, signal);
        stats.resent++;
        if (ackId === undefined) throw new Error(`${d}: the collector stopped acknowledging batches`);
        pending.set(ackId, { body: p.body, ackId, sentAt: performance.now(), resends: p.resends + 1 });
        interval = 0;
      }
    }
  }

  return {
    description: d,
    get acknowledged() {
      return acknowledged;
    },
    stats,
    async connect(session?: DeliverySession) {
      // One channel per state file: acks are per channel, and Splunk caps the channels it keeps.
      if (session !== undefined) headers["x-splunk-request-channel"] = session.channel;
      // Ack id 0 of our channel: answered after the token is checked, and says whether acks are on.
      const a = await call(ACK_PATH, '{"acks":[0]}', undefined, [404]);
      const on = a.status === 200;
      if (a.status === 404 && t.ack === "on")
        throw SyncUsageError.store(
          `${d}: the collector has no indexer acknowledgement endpoint (HTTP 404 for ${ACK_PATH}), and the URL says ack=on (use ack=auto or ack=off)`,
        );
      if (a.status === 404) {
        // A HEC-compatible receiver without the ack endpoint: an empty POST proves the token
        // (400 code 5, "No data", comes after the token check) and indexes nothing.
        const e = await call(EVENT_PATH, "", undefined, [400]);
        if (e.status !== 400 || e.body?.code !== 5)
          throw new Error(`${d}: unexpected answer to the token check (${describeReply(e.status, e.body)})`);
      } else if (!on && a.body?.code !== 14)
        throw new Error(`${d}: unexpected answer to the token check (${describeReply(a.status, a.body)})`);
      if (t.ack === "on" && !on)
        throw SyncUsageError.store(
          `${d}: indexer acknowledgement is off for this HEC token, and the URL says ack=on (turn it on for the token, or use ack=auto)`,
        );
      acknowledged = on && t.ack !== "off";
    },
    async send(messages: readonly DeliveryMessage[], signal?: AbortSignal) {
      if (acknowledged === undefined) throw new Error(`${d}: send before connect`);
      if (messages.length === 0) return;
      const events = messages.map((m) => write(m.id, m.entry.timestamp, m.body));
      const pending = new Map<number, Pending>();
      for (const batch of splitBatches(events, t.batchEvents, t.batchBytes)) {
        const body = batch.join("\n");
        const ackId = await post(body, signal);
        if (!acknowledged) continue;
        if (ackId === undefined)
          throw new Error(
            `${d}: the collector answered a batch without an ack id while acknowledgement is on`,
          );
        pending.set(ackId, { body, ackId, sentAt: performance.now(), resends: 0 });
      }
      await awaitAcks(pending, signal);
      crashPoint("hec.batch-acked");
    },
    async close() {
      pool.close();
    },
  };
}
