/**
 * Exact arithmetic over the one timestamp type ({@link Timestamp}, packages/client/src/domain/time.ts): bigint
 * nanoseconds, so nothing is rounded through a JS `Date`. The exporter and `tail` use the short
 * names below; each is the time.ts function of the same job, not a second implementation.
 */
import { ValidationError } from "./errors.js";
import { compareTimestamps, formatTimestamp, nowTimestamp, parseTimestamp, type Timestamp } from "./time.js";

/** The exporter's short name for {@link Timestamp}. */
export type Ts = Timestamp;
/** {@link compareTimestamps} under the exporter's short name. */
export const compareTs: (a: Timestamp, b: Timestamp) => number = compareTimestamps;
/** {@link formatTimestamp} under the exporter's short name. */
export const formatTs: (ts: Timestamp) => string = formatTimestamp;
/** {@link nowTimestamp} under the exporter's short name. */
export const nowTs: (nowMs?: number) => Timestamp = nowTimestamp;

const NS_PER_S = 1_000_000_000n;

/** Nanoseconds since the epoch. */
export function tsToNs(ts: Timestamp): bigint {
  return BigInt(ts.seconds) * NS_PER_S + BigInt(ts.nanos);
}

/** Inverse of {@link tsToNs}; nanos are always normalised to 0..999_999_999. */
export function nsToTs(ns: bigint): Timestamp {
  let seconds = ns / NS_PER_S;
  let nanos = ns % NS_PER_S;
  if (nanos < 0n) {
    nanos += NS_PER_S;
    seconds -= 1n;
  }
  return { seconds: Number(seconds), nanos: Number(nanos) };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Whether nanoseconds since the epoch fit a signed 64-bit integer, i.e. the instant is within
 * 1677-09-21T00:12:43.145224192Z..2262-04-11T23:47:16.854775807Z: the range of a BIGINT
 * `timestamp_ns` column (and of DuckDB's TIMESTAMP_NS), a part of the protobuf range only.
 */
export function fitsInt64(ns: bigint): boolean {
  return ns >= INT64_MIN && ns <= INT64_MAX;
}

/**
 * Parses an RFC 3339 timestamp exactly (the exporter's manifests and tail checkpoints); undefined when
 * `text` is not one. {@link parseTimestamp} without the error.
 */
export function parseTs(text: string): Timestamp | undefined {
  try {
    return parseTimestamp(text, "timestamp");
  } catch (e) {
    if (e instanceof ValidationError) return undefined;
    throw e;
  }
}
