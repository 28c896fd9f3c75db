/**
 * Exact timestamp arithmetic for the exporter. Timestamps are `{ seconds, nanos }` as on the wire;
 * arithmetic goes through bigint nanoseconds so nothing is rounded through a JS `Date`.
 */

/** A protobuf Timestamp. */
export interface Ts {
  seconds: number;
  nanos: number;
}

const NS_PER_S = 1_000_000_000n;

/** Nanoseconds since the epoch. */
export function tsToNs(ts: Ts): bigint {
  return BigInt(ts.seconds) * NS_PER_S + BigInt(ts.nanos);
}

/** Inverse of {@link tsToNs}; nanos are always normalised to 0..999_999_999. */
export function nsToTs(ns: bigint): Ts {
  let seconds = ns / NS_PER_S;
  let nanos = ns % NS_PER_S;
  if (nanos < 0n) {
    nanos += NS_PER_S;
    seconds -= 1n;
  }
  return { seconds: Number(seconds), nanos: Number(nanos) };
}

/** Negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareTs(a: Ts, b: Ts): number {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
  return a.nanos === b.nanos ? 0 : a.nanos < b.nanos ? -1 : 1;
}

/** `Date.now()` as a Timestamp (millisecond precision is all the clock has). */
export function nowTs(nowMs: number = Date.now()): Ts {
  return nsToTs(BigInt(nowMs) * 1_000_000n);
}

/**
 * RFC 3339 in UTC with the shortest fraction that is exact (0, 3, 6 or 9 digits), so microsecond
 * timestamps print the way Clarifai prints them.
 */
export function formatTs(ts: Ts): string {
  const whole = new Date(ts.seconds * 1000).toISOString().slice(0, 19);
  if (ts.nanos === 0) return `${whole}Z`;
  let frac = String(ts.nanos).padStart(9, "0");
  if (frac.endsWith("000000")) frac = frac.slice(0, 3);
  else if (frac.endsWith("000")) frac = frac.slice(0, 6);
  return `${whole}.${frac}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 timestamp exactly (up to 9 fractional digits) — the inverse of {@link formatTs}.
 * Returns undefined when `text` is not one.
 */
export function parseTs(text: string): Ts | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  const check = new Date(ms);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) return undefined;
  let seconds = Math.floor(ms / 1000);
  if (zone !== "Z" && zone !== undefined) {
    const sign = zone.startsWith("-") ? -1 : 1;
    seconds -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  return { seconds, nanos: frac ? Number(frac.padEnd(9, "0")) : 0 };
}
