/**
 * What Splunk's HTTP Event Collector documents and the transport relies on: the event envelope
 * (`/services/collector/event`, events batched as concatenated JSON objects), the JSON replies
 * (`{"text", "code", "ackId"}` and the ack endpoint's `{"acks": {"ID": true|false}}`), and the
 * status codes' meanings. Kept apart from the HTTP so that each is tested on its own.
 */
import type { Timestamp } from "@clarifai-audit/client/internal/domain/time.js";
import { tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";

/** HEC's status codes (the `code` of a reply), as Splunk's "Troubleshoot HTTP Event Collector" lists them. */
export const HEC_CODES: Readonly<Record<number, string>> = {
  0: "Success",
  1: "Token disabled",
  2: "Token is required",
  3: "Invalid authorization",
  4: "Invalid token",
  5: "No data",
  6: "Invalid data format",
  7: "Incorrect index",
  8: "Internal server error",
  9: "Server is busy",
  10: "Data channel is missing",
  11: "Invalid data channel",
  12: "Event field is required",
  13: "Event field cannot be blank",
  14: "ACK is disabled",
  15: "Error in handling indexed fields",
  16: "Query string authorization is not enabled",
  17: "HEC is healthy",
  18: "HEC is unhealthy, queues are full",
  19: "HEC is unhealthy, ack service unavailable",
  20: "HEC is unhealthy, queues are full, ack service unavailable",
};

/** The fields of a HEC reply the transport reads (anything else is ignored). */
export interface HecReplyBody {
  text?: string;
  code?: number;
  ackId?: number;
  "invalid-event-number"?: number;
  acks?: Record<string, boolean>;
}

/** A reply body as JSON, or undefined when it is not a JSON object (a proxy's HTML page). */
export function parseReplyBody(text: string): HecReplyBody | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as HecReplyBody) : undefined;
  } catch {
    return undefined;
  }
}

/** `HTTP 403, code 4 "Invalid token"`: a reply for a message (the server's text cut, quoted). */
export function describeReply(status: number, body: HecReplyBody | undefined): string {
  if (body === undefined || typeof body.code !== "number") return `HTTP ${status}`;
  const text = typeof body.text === "string" ? body.text : (HEC_CODES[body.code] ?? "");
  const at =
    typeof body["invalid-event-number"] === "number"
      ? `, invalid event #${body["invalid-event-number"]}`
      : "";
  return `HTTP ${status}, code ${body.code} ${JSON.stringify(text.slice(0, 200))}${at}`;
}

/**
 * Epoch seconds of `ts` as a JSON number with every digit kept (up to 9 fractional ones): HEC's
 * `time` is epoch seconds with a decimal fraction, and a JavaScript number would round
 * nanoseconds away (2^53 ns is only 104 days). Written as text, never through a float.
 */
export function epochSeconds(ts: Timestamp): string {
  const ns = tsToNs(ts);
  const abs = ns < 0n ? -ns : ns;
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${ns < 0n ? "-" : ""}${whole}${frac === "" ? "" : `.${frac}`}`;
}

/** The fixed part of every event of a destination, as JSON members (`"index":"main",…`). */
export interface EnvelopeFields {
  index?: string;
  source?: string;
  sourcetype: string;
  host?: string;
  /** The collector's account (an indexed field beside the entry id). */
  account?: string;
}

/**
 * Builds events: `{"time":…, <fixed members>, "fields":{"clarifai_entry_id":ID[, "account":…]}, "event":BODY}`.
 * The body is the entry's JSON (or OCSF) text, spliced in as is: it is already JSON, and parsing
 * it only to serialize it again would cost most of the time a batch takes.
 */
export function envelopeWriter(f: EnvelopeFields): (id: string, ts: Timestamp, body: string) => string {
  const fixed = [
    f.index !== undefined ? `"index":${JSON.stringify(f.index)}` : "",
    f.source !== undefined ? `"source":${JSON.stringify(f.source)}` : "",
    `"sourcetype":${JSON.stringify(f.sourcetype)}`,
    f.host !== undefined ? `"host":${JSON.stringify(f.host)}` : "",
  ]
    .filter((m) => m !== "")
    .join(",");
  const account = f.account !== undefined ? `,"account":${JSON.stringify(f.account)}` : "";
  return (id, ts, body) =>
    `{"time":${epochSeconds(ts)},${fixed},"fields":{"clarifai_entry_id":${JSON.stringify(id)}${account}},"event":${body}}`;
}

/**
 * Splits events into batches of at most `maxEvents` events and `maxBytes` UTF-8 bytes each (an
 * event larger than `maxBytes` goes alone: the collector says whether it takes it), in order.
 */
export function splitBatches(events: readonly string[], maxEvents: number, maxBytes: number): string[][] {
  const out: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const e of events) {
    const n = Buffer.byteLength(e);
    if (batch.length > 0 && (batch.length >= maxEvents || bytes + n > maxBytes)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += n;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}
