/**
 * Snapshot rules for multi-page iteration.
 */

import { compareTimestamps, nowTimestamp, type Timestamp } from "../domain/time.js";
import type { ValidatedQuery } from "./query.js";

/**
 * Pins an open `to` to now, so that pages requested later see the same set of entries: with an
 * open range, entries logged during iteration would push older entries onto later pages (newest
 * first) and they would be returned twice. A `from` in the future pins `to` to `from` (an empty,
 * valid range) rather than producing a `from > to` request.
 */
export function pinOpenRange(query: ValidatedQuery, now: Timestamp = nowTimestamp()): ValidatedQuery {
  if (query.to !== undefined) return query;
  const to = query.from !== undefined && compareTimestamps(query.from, now) > 0 ? query.from : now;
  return { ...query, to };
}
