/**
 * One entry as an RFC 5424 syslog message, framed with octet counting (RFC 6587 §3.4.1:
 * `MSG-LEN SP SYSLOG-MSG`, which lets a message hold newlines, unlike LF-delimited framing):
 *
 *     <PRI>1 TIMESTAMP HOSTNAME clarifai-audit PROCID MSGID [clarifai@32473 id="…" account="…" ts="…" req_id="…"] MSG
 *
 * - PRI = facility × 8 + severity: notice (5) for a successful operation, warning (4) for a failed one.
 * - TIMESTAMP: the entry's instant with 6 fractional digits (RFC 5424 allows no more); the exact
 *   instant, to the nanosecond, is the `ts` parameter.
 * - HOSTNAME: this machine's name (printable US-ASCII, else `-`); PROCID: this process's id.
 * - MSGID: the operation's name (`MODEL_CREATE`); RFC 5424 caps it at 32 characters, so the four
 *   longer names (`ORGANIZATION_MEMBER_INVITATION_*`) are sent as `ORG_MEMBER_INVITATION_*`.
 * - STRUCTURED-DATA, under the private enterprise number 32473 (RFC 5612's number for documentation
 *   and examples, as Clarifai has none registered): `id` the entry key (ExportEntry.key(), the
 *   dedupe id), `account` (the collector's account, absent for `sync`), `ts`, `req_id`; values
 *   escaped per §6.3.3 (`"`, `\` and `]` after a backslash; anything else, newlines and UTF-8
 *   included, as is). A message longer than `max_message` adds `msg_bytes`, MSG's size.
 * - MSG: the entry's JSON line or OCSF event, UTF-8 without a BOM; never cut: a receiver's own limit
 *   (rsyslog's maxMessageSize, 8 KiB by default) decides, and `msg_bytes` tells it was cut.
 */
import { hostname } from "node:os";
import { entryHeaderFields } from "@clarifai-audit/client/internal/codec/entryHeader.js";
import { operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import type { DeliveryMessage } from "../delivery/deliveryStore.js";

/** The SD-ID of the structured data (name@private-enterprise-number). */
export const SD_ID = "clarifai@32473";
/** APP-NAME. */
export const APP_NAME = "clarifai-audit";

/** Severities (RFC 5424 §6.2.1). */
const NOTICE = 5;
const WARNING = 4;

/** What every message of a connection shares. */
export interface SyslogHeader {
  /** Facility code 0–23. */
  facility: number;
  /** HOSTNAME (see {@link syslogHostname}). */
  hostname: string;
  /** PROCID. */
  procId: string;
  /** The collector's account, if any. */
  account?: string;
  /** See the module comment. */
  maxMessage: number;
}

/** `name` (default: this machine's) as HOSTNAME: 1–255 printable US-ASCII characters, else the NILVALUE `-`. */
export function syslogHostname(name: string = hostname()): string {
  return /^[\x21-\x7e]{1,255}$/.test(name) ? name : "-";
}

/** A PARAM-VALUE escaped per RFC 5424 §6.3.3. */
export function escapeSdValue(value: string): string {
  return value.replace(/["\\\]]/g, "\\$&");
}

/** An operation's name as MSGID (module comment). */
export function msgIdOf(operation: number): string {
  const name = operationName(operation);
  if (name.length <= 32) return name;
  const short = name.replace(/^ORGANIZATION_/, "ORG_");
  return short.length <= 32 ? short : short.slice(0, 32);
}

/** `timestamp` (RFC 3339, 9 fractional digits) with 6 (RFC 5424 §6.2.3.1). */
export function rfc5424Timestamp(timestamp: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (m === null) throw new Error(`not an RFC 3339 UTC timestamp: ${timestamp}`);
  return m[2] === undefined ? `${m[1]}Z` : `${m[1]}.${m[2].slice(0, 6)}Z`;
}

/** The SYSLOG-MSG of `message` (no framing). */
export function syslogMessage(message: DeliveryMessage, header: SyslogHeader): string {
  // Three scalars of the entry's bytes, not a whole decode (entryHeader.ts).
  const entry = entryHeaderFields(message.entry.bytes);
  const severity = entry.success ? NOTICE : WARNING;
  let sd = `[${SD_ID} id="${message.id}"`;
  if (header.account !== undefined) sd += ` account="${escapeSdValue(header.account)}"`;
  sd += ` ts="${message.timestamp}"`;
  if (entry.reqId !== "") sd += ` req_id="${escapeSdValue(entry.reqId)}"`;
  const head = `<${header.facility * 8 + severity}>1 ${rfc5424Timestamp(message.timestamp)} ${header.hostname} ${APP_NAME} ${header.procId} ${msgIdOf(entry.operation)} `;
  const bodyBytes = Buffer.byteLength(message.body);
  // The size with `]` and the space before MSG: with msg_bytes it is larger still.
  if (Buffer.byteLength(head) + Buffer.byteLength(sd) + 2 + bodyBytes > header.maxMessage)
    sd += ` msg_bytes="${bodyBytes}"`;
  return `${head}${sd}] ${message.body}`;
}

/** `msg` framed by octet counting (RFC 6587 §3.4.1). */
export function octetFrame(msg: string): string {
  return `${Buffer.byteLength(msg)} ${msg}`;
}
