/**
 * `syslog://HOST[:PORT][?…]` (RFC 5424 over TCP, RFC 6587 octet-counted frames; port 514 by
 * default) and `syslog+tls://HOST[:PORT][?…]` (the same over TLS, RFC 5425; port 6514 by default),
 * parsed and checked before anything is opened. Parameters:
 * - `facility`: the syslog facility of every message, a name (`kern` … `local7`, `authpriv`,
 *   `audit` = 13, "log audit") or a code 0–23; default `local0` (16): routed by the receiver's
 *   rules, never mixed with the host's own `auth`/`authpriv` logs.
 * - `max_message`: the size in bytes (default 8192, rsyslog's default maxMessageSize) above which a
 *   message carries its MSG's size in structured data (`msg_bytes`), so that a receiver that cut it
 *   can tell. A message is always sent whole (see rfc5424.ts).
 * - `confirm`: `close` (default) or `write`, what confirms a batch (see transport.ts).
 */
import { redactUrl } from "@clarifai-audit/client/internal/domain/redact.js";
import { SyncUsageError } from "../store.js";

/** A checked syslog destination. */
export interface SyslogTarget {
  host: string;
  port: number;
  tls: boolean;
  /** For messages and the state file: `syslog[+tls]://HOST:PORT` (parameters do not change where entries go). */
  description: string;
  /** The facility code, 0–23. */
  facility: number;
  /** See the module comment. */
  maxMessage: number;
  /** See the module comment. */
  confirm: "close" | "write";
}

/** Facility names (RFC 5424 §6.2.1, as rsyslog and syslog.h name them) → codes. */
export const FACILITIES: ReadonlyMap<string, number> = new Map([
  ["kern", 0],
  ["user", 1],
  ["mail", 2],
  ["daemon", 3],
  ["auth", 4],
  ["syslog", 5],
  ["lpr", 6],
  ["news", 7],
  ["uucp", 8],
  ["cron", 9],
  ["authpriv", 10],
  ["ftp", 11],
  ["ntp", 12],
  ["audit", 13],
  ["alert", 14],
  ["clock", 15],
  ...Array.from({ length: 8 }, (_, i) => [`local${i}`, 16 + i] as [string, number]),
]);

/** The default facility: see the module comment. */
export const DEFAULT_FACILITY = 16;
/** rsyslog's default maxMessageSize. */
export const DEFAULT_MAX_MESSAGE = 8192;

const URL_SHAPE =
  /^(syslog|syslog\+tls):\/\/(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?))(?::([0-9]{1,5}))?\/?(?:\?([^#]*))?$/;

/** Parses a syslog destination; throws SyncUsageError (one line, no secret) for a bad one. */
export function parseSyslogUrl(text: string): SyslogTarget {
  const shown = redactUrl(text);
  const bad = (problem: string, allowed?: string): never => {
    throw SyncUsageError.store(`${shown}: ${problem}`, allowed);
  };
  if (/^[a-z+]+:\/\/[^/?#]*@/i.test(text)) bad("a syslog URL takes no user name or password");
  const m = URL_SHAPE.exec(text);
  if (m === null)
    return bad(
      "is not a syslog URL",
      "syslog://HOST[:PORT][?facility=NAME&max_message=BYTES&confirm=close|write] or syslog+tls://HOST[:PORT][?…]",
    );
  const tls = m[1] === "syslog+tls";
  const host = (m[2] ?? m[3]) as string;
  const port = m[4] === undefined ? (tls ? 6514 : 514) : Number(m[4]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`port ${m[4]} is out of range`, "1-65535");
  let facility = DEFAULT_FACILITY;
  let maxMessage = DEFAULT_MAX_MESSAGE;
  let confirm: SyslogTarget["confirm"] = "close";
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(m[5] ?? "")) {
    if (seen.has(name)) bad(`parameter ${name} is given twice`);
    seen.add(name);
    if (name === "facility") {
      const code = FACILITIES.get(value.toLowerCase()) ?? (/^[0-9]{1,2}$/.test(value) ? Number(value) : -1);
      if (code < 0 || code > 23)
        bad(
          `facility ${JSON.stringify(value)} is not a syslog facility`,
          `${[...FACILITIES.keys()].join(", ")} or 0-23`,
        );
      facility = code;
    } else if (name === "max_message") {
      const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : Number.NaN;
      if (!(n >= 480 && n <= 2 ** 31 - 1))
        bad(
          `max_message ${JSON.stringify(value)} is not a size in bytes`,
          "480-2147483647 (RFC 5424 receivers take at least 480)",
        );
      maxMessage = n;
    } else if (name === "confirm") {
      if (value !== "close" && value !== "write")
        bad(`confirm ${JSON.stringify(value)} is not a mode`, "close, write");
      confirm = value as SyslogTarget["confirm"];
    } else bad(`unknown parameter ${JSON.stringify(name)}`, "facility, max_message, confirm");
  }
  const hostText = m[2] !== undefined ? `[${host}]` : host;
  return {
    host,
    port,
    tls,
    description: `${m[1]}://${hostText.toLowerCase()}:${port}`,
    facility,
    maxMessage,
    confirm,
  };
}
