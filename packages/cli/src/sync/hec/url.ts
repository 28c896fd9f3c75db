/**
 * `splunk+https://HOST[:PORT][?index=…&source=…&sourcetype=…&host=…&ack=auto|on|off&batch_events=N&batch_bytes=N]`:
 * a Splunk HTTP Event Collector, checked before anything connects. The token never rides in the URL
 * (user info and a `token` parameter are refused: URLs end up in shell history, process lists and
 * messages); it comes from `hecToken` (CLARIFAI_AUDIT_HEC_TOKEN). `splunk+http://` (no TLS) is only
 * for a collector on this machine (127.0.0.0/8, ::1, localhost): a token sent in clear over a network
 * is a token given away.
 */
import { SyncUsageError } from "../store.js";

/** The variable `sync` reads a HEC token from; a pat_command is not given it. */
export const HEC_TOKEN_ENV = "CLARIFAI_AUDIT_HEC_TOKEN";

/** When the transport waits for Splunk's indexer acknowledgement before a batch counts as delivered. */
export type HecAckMode = "auto" | "on" | "off";

/** A checked HEC destination. */
export interface HecTarget {
  host: string;
  port: number;
  /** `splunk+http://` (plain HTTP) is for loopback tests only; false is the norm. */
  plain: boolean;
  index?: string;
  /** The events' `source` (absent: the token's default). */
  source?: string;
  /** The events' `sourcetype` (absent: `clarifai:audit`, or `clarifai:audit:ocsf` for OCSF events). */
  sourcetype?: string;
  /** The events' `host` field (absent: the token's default, or the collector's). */
  eventHost?: string;
  /** `auto` (default): acknowledged when the token has indexer acknowledgement on. */
  ack: HecAckMode;
  /** Most events in one POST. */
  batchEvents: number;
  /** Most bytes in one POST (an event larger than this goes alone). */
  batchBytes: number;
  /** For messages and the state file: the URL without parameters, and the index (never the token). */
  description: string;
}

/** HEC's default port. */
export const HEC_DEFAULT_PORT = 8088;
/** Defaults of the batch bounds: Splunk's `max_content_length` was 1 MB in older releases. */
export const HEC_DEFAULT_BATCH_EVENTS = 1000;
export const HEC_DEFAULT_BATCH_BYTES = 1024 * 1024;

const PARAMS = ["index", "source", "sourcetype", "host", "ack", "batch_events", "batch_bytes"] as const;
const SCHEME = /^splunk\+(https?):\/\//i;

/** 127.0.0.0/8, ::1 and localhost: where `splunk+http://` is allowed. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether `text` holds a C0 control character or DEL (a header or a log line would be split by it). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function refuse(problem: string, allowed?: string): never {
  throw SyncUsageError.store(problem, allowed);
}

function intParam(name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max)
    refuse(`Splunk HEC URL: ${name}=${JSON.stringify(text)} is not a whole number in ${min}-${max}`);
  return Number(text);
}

/** Parses a HEC destination; throws SyncUsageError (one line, never the URL's user info) for a bad one. */
export function parseHecUrl(text: string): HecTarget {
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined)
    refuse("a Splunk HEC URL starts with splunk+https:// (splunk+http:// for this machine only)");
  let u: URL;
  try {
    u = new URL(`${scheme}://${text.slice(text.indexOf("://") + 3)}`);
  } catch {
    refuse("Splunk HEC URL: not a URL", "splunk+https://HOST[:PORT][?index=NAME]");
  }
  if (u.username !== "" || u.password !== "")
    refuse(
      "Splunk HEC URL: holds user info; the HEC token is read from CLARIFAI_AUDIT_HEC_TOKEN, never from the URL",
    );
  if (u.hostname === "") refuse("Splunk HEC URL: names no host");
  const plain = scheme === "http";
  const base = `splunk+${scheme}://${u.host}`;
  if (plain && !isLoopbackHost(u.hostname))
    refuse(
      `${base}: plain HTTP would send the HEC token in clear; splunk+http:// is allowed for 127.0.0.1, ::1 and localhost only (use splunk+https://)`,
    );
  if (u.pathname !== "/" && u.pathname !== "")
    refuse(
      `${base}: the URL takes no path (got ${JSON.stringify(u.pathname)}); events go to /services/collector/event`,
    );
  if (u.hash !== "") refuse(`${base}: the URL takes no fragment`);
  const seen = new Map<string, string>();
  for (const [name, value] of u.searchParams) {
    if (name === "token")
      refuse(`${base}: the HEC token is read from CLARIFAI_AUDIT_HEC_TOKEN, never from the URL`);
    if (!(PARAMS as readonly string[]).includes(name))
      refuse(`${base}: unknown parameter ${JSON.stringify(name)}`, PARAMS.join(", "));
    if (seen.has(name)) refuse(`${base}: parameter ${name} is given twice`);
    if (value === "" || value.length > 1000 || hasControl(value))
      refuse(`${base}: parameter ${name} is empty, longer than 1000 characters or holds control characters`);
    seen.set(name, value);
  }
  const index = seen.get("index");
  // Splunk's index names: lower-case letters, digits, `_` and `-`, not starting with `-`.
  if (index !== undefined && !/^[a-z0-9_][a-z0-9_-]{0,79}$/.test(index))
    refuse(
      `${base}: index ${JSON.stringify(index)} is not a Splunk index name`,
      "lower-case letters, digits, _ and -, not starting with -, at most 80 characters",
    );
  const ack = seen.get("ack") ?? "auto";
  if (ack !== "auto" && ack !== "on" && ack !== "off")
    refuse(`${base}: ack=${JSON.stringify(ack)} is not one of auto, on, off`);
  // URL drops a scheme's default port (443, 80): the port as written decides, 8088 when none is.
  const authority = text.slice(text.indexOf("://") + 3).split(/[/?#]/)[0] ?? "";
  const written = /:(\d+)$/.exec(authority.slice(authority.lastIndexOf("]") + 1))?.[1];
  const port = written === undefined ? HEC_DEFAULT_PORT : Number(written);
  if (port === 0) refuse(`${base}: port 0 is not a port`, "1-65535");
  const source = seen.get("source");
  const sourcetype = seen.get("sourcetype");
  const eventHost = seen.get("host");
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    plain,
    ...(index !== undefined ? { index } : {}),
    ...(source !== undefined ? { source } : {}),
    ...(sourcetype !== undefined ? { sourcetype } : {}),
    ...(eventHost !== undefined ? { eventHost } : {}),
    ack,
    batchEvents:
      seen.get("batch_events") === undefined
        ? HEC_DEFAULT_BATCH_EVENTS
        : intParam("batch_events", seen.get("batch_events") as string, 1, 100_000),
    batchBytes:
      seen.get("batch_bytes") === undefined
        ? HEC_DEFAULT_BATCH_BYTES
        : intParam("batch_bytes", seen.get("batch_bytes") as string, 1024, 512 * 1024 * 1024),
    description: `splunk+${scheme}://${u.hostname}:${port}${index === undefined ? "" : ` (index ${index})`}`,
  };
}
