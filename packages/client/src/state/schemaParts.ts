/**
 * The pieces the state files' JSON Schemas are made of (the export manifest, the lake state, the
 * PostgreSQL state row, the tail and watch checkpoints), defined once. The string formats they name
 * are checked by packages/client/src/state/stateReader.ts.
 */

/** A count: a non-negative safe integer. */
export const COUNT = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
/** An RFC 3339 timestamp in the protobuf range, up to 9 fractional digits. */
export const TIMESTAMP = { type: "string", format: "timestamp" } as const;
/** Nanoseconds since 1970 as a decimal string, anywhere in the protobuf range. */
export const NS = { type: "string", format: "ns" } as const;
/** One JSON object on one line (an entry as exported). */
export const JSON_LINE = { type: "string", format: "json-line" } as const;
/** Text that is printed in messages: bounded, no control characters. */
export const PRINTABLE = {
  type: "string",
  maxLength: 1000,
  pattern: "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
  description: "text of at most 1000 characters without control characters",
} as const;

/** A two-item array `[first, second]`; `description` names the items for messages. */
export function pair<A extends object, B extends object>(first: A, second: B, description: string) {
  return { type: "array", description, minItems: 2, maxItems: 2, items: [first, second] } as const;
}

/** A follow-poll's boundary keys as checkpoints keep them (tail, watch): `[entry key, timestamp]`. */
export const SEEN_KEYS = {
  type: "array",
  items: pair({ type: "string", minLength: 1, maxLength: 1000 }, TIMESTAMP, '["entry key", "timestamp"]'),
} as const;

/** The first key of `seen` that repeats an earlier one, as [JSON pointer, problem]. */
export function repeatedSeenKey(seen: readonly (readonly [string, string])[]): [string, string] | undefined {
  const keys = new Map<string, number>();
  for (const [i, [key]] of seen.entries()) {
    const first = keys.get(key);
    if (first !== undefined) return [`/seen/${i}/0`, `repeats the key of /seen/${first}`];
    keys.set(key, i);
  }
  return undefined;
}
