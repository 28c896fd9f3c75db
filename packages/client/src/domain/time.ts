/**
 * Exact timestamp conversion. Clarifai stores microseconds and protobuf carries nanoseconds; a JS
 * `Date` holds milliseconds. Strings are therefore converted with integer arithmetic on the civil
 * calendar (Howard Hinnant's days-from-civil), never through `Date`.
 */
import { ValidationError } from "./errors.js";

/** A protobuf `google.protobuf.Timestamp` in ts-proto's shape. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** A google-protobuf `Timestamp` instance (as the documentation's Node examples build them). */
export interface TimestampLike {
  getSeconds(): number;
  getNanos(): number;
}

/**
 * Accepted time inputs: an RFC 3339 string (0–9 fractional digits, `Z` or `±hh:mm`), a `Date`,
 * epoch milliseconds, `{ seconds, nanos }`, or a google-protobuf `Timestamp`.
 */
export type TimeInput = string | Date | number | { seconds: number | bigint; nanos?: number } | TimestampLike;

/** 0001-01-01T00:00:00Z, the smallest value protobuf's Timestamp allows. */
export const MIN_TIMESTAMP_SECONDS = -62135596800;
/** 9999-12-31T23:59:59Z, the largest whole second protobuf's Timestamp allows. */
export const MAX_TIMESTAMP_SECONDS = 253402300799;

const ALLOWED =
  'an RFC 3339 time like "2025-01-17T12:04:55.449860Z" or "2025-01-17T13:04:55+01:00" (0-9 fractional ' +
  "digits), a Date, epoch milliseconds, { seconds, nanos } or a google-protobuf Timestamp, between " +
  "0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z";

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (exact for years 1–9999). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01. */
export function civilFromDays(days: number): [year: number, month: number, day: number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days in a month of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  return month === 2
    ? isLeapYear(year)
      ? 29
      : 28
    : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

function checkRange(field: string, input: unknown, seconds: number, nanos: number): Timestamp {
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new ValidationError(field, input, ALLOWED, "timestamp out of range");
  }
  return { seconds, nanos };
}

function parseString(input: string, field: string): Timestamp {
  const m = RFC3339.exec(input);
  if (!m) throw new ValidationError(field, input, ALLOWED, "not an RFC 3339 timestamp");
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (year < 1) throw new ValidationError(field, input, ALLOWED, "year 0000 does not exist");
  if (month < 1 || month > 12)
    throw new ValidationError(field, input, ALLOWED, `month ${m[2]} does not exist`);
  const dim = daysInMonth(year, month);
  if (day < 1 || day > dim) {
    throw new ValidationError(field, input, ALLOWED, `${m[1]}-${m[2]} has days 01-${dim}`);
  }
  if (hour > 23) throw new ValidationError(field, input, ALLOWED, "hour must be 00-23");
  if (minute > 59) throw new ValidationError(field, input, ALLOWED, "minute must be 00-59");
  // Protobuf Timestamps are smeared, not leap-second aware: second 60 has no representation.
  if (second > 59) throw new ValidationError(field, input, ALLOWED, "second must be 00-59 (no leap seconds)");
  let offset = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59)
      throw new ValidationError(field, input, ALLOWED, "UTC offset must be -23:59..+23:59");
    offset = (m[9] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const frac = m[7] ?? "";
  const nanos = frac === "" ? 0 : Number(frac.padEnd(9, "0"));
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return checkRange(field, input, seconds, nanos);
}

function toSafeSeconds(value: unknown): number | undefined {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : undefined;
  }
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  return undefined;
}

function fromParts(field: string, input: unknown, rawSeconds: unknown, rawNanos: unknown): Timestamp {
  const seconds = toSafeSeconds(rawSeconds);
  if (seconds === undefined) {
    throw new ValidationError(field, input, ALLOWED, "seconds must be an integer");
  }
  const nanos = rawNanos === undefined || rawNanos === null ? 0 : rawNanos;
  if (typeof nanos !== "number" || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new ValidationError(field, input, ALLOWED, "nanos must be an integer 0-999999999");
  }
  return checkRange(field, input, seconds, nanos);
}

/**
 * Converts a {@link TimeInput} to an exact `{ seconds, nanos }`.
 * @param field - the query field, named in the {@link ValidationError} on bad input.
 * @throws ValidationError for malformed, impossible or out-of-range times.
 */
export function parseTimestamp(input: TimeInput, field: string): Timestamp {
  if (typeof input === "string") return parseString(input, field);
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input)) {
      throw new ValidationError(field, input, ALLOWED, "epoch milliseconds must be an integer");
    }
    const seconds = Math.floor(input / 1000);
    return checkRange(field, input, seconds, (input - seconds * 1000) * 1_000_000);
  }
  if (input instanceof Date) {
    const ms = input.getTime();
    if (Number.isNaN(ms)) throw new ValidationError(field, input, ALLOWED, "invalid Date");
    const seconds = Math.floor(ms / 1000);
    return checkRange(field, input, seconds, (ms - seconds * 1000) * 1_000_000);
  }
  if (typeof input === "object" && input !== null) {
    const o = input as unknown as Record<string, unknown>;
    if (typeof o.getSeconds === "function" && typeof o.getNanos === "function") {
      return fromParts(
        field,
        input,
        (input as TimestampLike).getSeconds(),
        (input as TimestampLike).getNanos(),
      );
    }
    if ("seconds" in o) return fromParts(field, input, o.seconds, o.nanos);
  }
  throw new ValidationError(field, input, ALLOWED, "not a time");
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * Prints a Timestamp as RFC 3339 UTC with 0, 3, 6 or 9 fractional digits, exactly as proto3 JSON
 * (and Clarifai's REST API) prints it: `2025-01-17T12:04:55.449860Z`.
 */
export function formatTimestamp(ts: Timestamp): string {
  const { seconds, nanos } = ts;
  const days = Math.floor(seconds / 86400);
  const secOfDay = seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const hh = Math.floor(secOfDay / 3600);
  const mi = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  let frac = "";
  if (nanos !== 0) {
    if (nanos % 1_000_000 === 0) frac = `.${pad(nanos / 1_000_000, 3)}`;
    else if (nanos % 1000 === 0) frac = `.${pad(nanos / 1000, 6)}`;
    else frac = `.${pad(nanos, 9)}`;
  }
  return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mi, 2)}:${pad(ss, 2)}${frac}Z`;
}

/**
 * A Timestamp as RFC 3339 UTC with exactly 9 fractional digits (`0001-01-01T00:00:00.000000000Z`):
 * the destinations' exact time column. Fixed width, so over the whole protobuf range (years
 * 0001-9999) comparing the texts orders and equates the instants exactly, in any engine.
 */
export function formatTimestampExact(ts: Timestamp): string {
  const text = formatTimestamp({ seconds: ts.seconds, nanos: 0 });
  return `${text.slice(0, -1)}.${pad(ts.nanos, 9)}Z`;
}

/**
 * The wall-clock time `nowMs` (default `Date.now()`, millisecond precision) as a Timestamp. Not
 * `performance.timeOrigin + performance.now()`: the monotonic clock does not follow steps of the
 * system clock (NTP, resume from suspend), so in a long-running process it drifts from the time the
 * server stamps entries with.
 */
export function nowTimestamp(nowMs: number = Date.now()): Timestamp {
  const seconds = Math.floor(nowMs / 1000);
  return { seconds, nanos: (nowMs - seconds * 1000) * 1_000_000 };
}

/** Orders two timestamps: negative, zero or positive. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}
