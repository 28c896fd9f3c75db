/**
 * Exact timestamp arithmetic for the exporter. Timestamps are `{ seconds, nanos }` as on the wire;
 * arithmetic goes through bigint nanoseconds so nothing is rounded through a JS `Date`.
 */

/** A protobuf Timestamp. */
export interface Ts {
  seconds: number;
  nanos: number;
}

import { ValidationError } from "../errors.js";
import { compareTimestamps, formatTimestamp, parseTimestamp } from "./time.js";

/** Orders two timestamps (sign only): the client's comparison under the exporter's short name. */
export const compareTs: (a: Ts, b: Ts) => number = compareTimestamps;
/** RFC 3339 UTC with 0, 3, 6 or 9 fractional digits, exactly as Clarifai prints (src/domain/time.ts). */
export const formatTs: (ts: Ts) => string = formatTimestamp;

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

/** `Date.now()` as a Timestamp (millisecond precision is all the clock has). */
export function nowTs(nowMs: number = Date.now()): Ts {
  return nsToTs(BigInt(nowMs) * 1_000_000n);
}

/**
 * Parses an RFC 3339 timestamp exactly (the exporter's manifests and tail checkpoints); undefined when
 * `text` is not one. One parser for the whole project: the client's, which never goes through `Date`.
 */
export function parseTs(text: string): Ts | undefined {
  try {
    return parseTimestamp(text, "timestamp");
  } catch (e) {
    if (e instanceof ValidationError) return undefined;
    throw e;
  }
}
