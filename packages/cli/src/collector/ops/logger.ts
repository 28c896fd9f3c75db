/**
 * The collector's log (`--log-format json|text`): one line per event, for journald, a container
 * runtime or a log shipper. What is logged quotes servers (error texts), databases (connection
 * errors that name the URL) and audit entries (written by whoever made the request), so every
 * string, field names and nested values included, is redacted (registered secrets, credentials in
 * URLs, `Key`/`Bearer` tokens) and kept to one line: a field cannot forge a second log line, move a
 * terminal's cursor, or carry a PAT to the log store.
 */
import { redact } from "@clarifai-audit/client/internal/domain/redact.js";
import { terminalSafe, terminalSafeJson } from "@clarifai-audit/client/internal/domain/terminalText.js";

/** `json`: one JSON object a line; `text`: `TIME LEVEL msg key=value …`. */
export type LogFormat = "json" | "text";

/** Extra fields of a log line (ids, counts, an error…). */
export type LogFields = Readonly<Record<string, unknown>>;

/** The collector's log. */
export interface CollectorLog {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  format: LogFormat;
  /** Receives each line whole, its `\n` included (e.g. `(line) => process.stderr.write(line)`). */
  write(line: string): void;
  /** The lines' time (default: the clock). */
  now?: () => Date;
}

/** A string value longer than this is cut (after redaction, so no secret is left half shown). */
const MAX_STRING = 4096;
/** Nested values deeper than this are summarised. */
const MAX_DEPTH = 4;
/** Arrays and objects show at most this many items. */
const MAX_ITEMS = 50;
/** The keys every line has: a field of the same name is written with a `_` after it. */
const RESERVED = new Set(["time", "level", "msg"]);

function cut(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING - 1)}…` : text;
}

function errorText(error: Error): string {
  const code = (error as { code?: unknown }).code;
  const name = error.name && error.name !== "Error" ? `${error.name}: ` : "";
  return `${name}${error.message}${typeof code === "string" ? ` (${code})` : ""}`;
}

/**
 * `value` made loggable: strings redacted and bounded; errors as their message; dates as RFC 3339;
 * bigints as text; nested arrays and objects likewise, bounded in depth and size; functions and
 * symbols as their kind. The result is plain JSON data.
 */
function clean(value: unknown, depth = 0): unknown {
  switch (typeof value) {
    case "string":
      return cut(redact(value));
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
      return null;
    case "function":
    case "symbol":
      return `[${typeof value}]`;
  }
  if (value === null) return null;
  if (value instanceof Error) return cut(redact(errorText(value)));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[array]" : "[object]";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => clean(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value as object)) {
    if (n++ === MAX_ITEMS) {
      out["…"] = "more keys";
      break;
    }
    out[cut(redact(k))] = clean(v, depth + 1);
  }
  return out;
}

/** The fields of a line, cleaned, without `undefined` ones, and with reserved names moved aside. */
function cleanFields(fields: LogFields | undefined): [string, unknown][] {
  if (fields === undefined) return [];
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const key = cut(redact(k));
    out.push([RESERVED.has(key) ? `${key}_` : key, clean(v)]);
  }
  return out;
}

/** A key of the text format: only characters that cannot be confused with `=`, quotes or spaces. */
function textKey(key: string): string {
  const k = key.replace(/[^A-Za-z0-9_.:/-]/g, "_");
  return k === "" ? "_" : k;
}

/** A value of the text format: bare when it is one plain word, else quoted as a JSON string. */
function textValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text !== "" && /^[^\s"=\\]+$/.test(text)) return terminalSafe(text);
  // JSON escapes quotes, backslashes and C0 controls; terminalSafe the rest (C1, bidi, U+2028…).
  return terminalSafe(JSON.stringify(text));
}

function jsonLine(time: string, level: string, msg: string, fields: [string, unknown][]): string {
  const record: Record<string, unknown> = { time, level, msg: cut(redact(msg)) };
  for (const [k, v] of fields) record[k] = v;
  // JSON.stringify leaves U+2028, C1 and bidi controls raw: escaped here, same value when parsed.
  return `${terminalSafeJson(JSON.stringify(record))}\n`;
}

function textLine(time: string, level: string, msg: string, fields: [string, unknown][]): string {
  const parts = [time, level.toUpperCase(), terminalSafe(cut(redact(msg)))];
  for (const [k, v] of fields) parts.push(`${textKey(k)}=${textValue(v)}`);
  return `${parts.join(" ")}\n`;
}

/** A {@link CollectorLog} writing `format` lines to `write`, every string redacted and kept to its line. */
export function createLogger(o: LoggerOptions): CollectorLog {
  const now = o.now ?? (() => new Date());
  const line = o.format === "json" ? jsonLine : textLine;
  const log =
    (level: "info" | "warn" | "error") =>
    (msg: string, fields?: LogFields): void => {
      o.write(line(now().toISOString(), level, msg, cleanFields(fields)));
    };
  return { info: log("info"), warn: log("warn"), error: log("error") };
}
