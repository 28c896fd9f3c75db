/**
 * How `tail` notices entries that land further behind than its lookback (which no poll reads again).
 *
 * Every entry tail prints eventually falls behind the lookback, and is counted then
 * (`printedBehind`): so the server's count of entries in [start, position − lookback) should equal
 * `printedBehind + lateSkipped`. When it is larger, the difference landed too late to be printed.
 * The server has no count, but pages of one entry are one: page n of a window with per_page 1
 * exists if and only if the window holds at least n entries. So one such request per poll checks the
 * count, and only when it grew does a doubling-then-bisecting search find by how much (O(log k)
 * requests of one entry each for k new late entries).
 *
 * The limit: the check counts, it cannot name; and it assumes the server never removes entries from
 * the window (an entry expiring under a retention period would hide one late arrival).
 */
import type { AuditLogClient, AuditLogSearchQuery, Timestamp } from "@clarifai-audit/client";

/** Largest page number the API takes (uint32). */
const MAX_PAGE = 0xffffffff;

/**
 * The number of entries matching `filters` in [from, to] (inclusive), given that the caller knows of
 * `known` of them: `known` when the window holds no more (or fewer: see the module's limit).
 */
export async function countEntries(
  client: AuditLogClient,
  filters: AuditLogSearchQuery,
  from: Timestamp,
  to: Timestamp,
  known: number,
  signal: AbortSignal,
): Promise<number> {
  const has = async (n: number): Promise<boolean> => {
    if (n > MAX_PAGE) return false;
    const page = await client.search(
      { ...filters, from, to, page: n, perPage: 1, sortAscending: true },
      { signal },
    );
    return page.entries.length > 0;
  };
  if (!(await has(known + 1))) return known;
  // lo holds, hi does not.
  let lo = known + 1;
  let step = 1;
  let hi = lo + step;
  while (await has(hi)) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await has(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The stderr line that reports `fresh` newly found late entries. */
export function lateLine(fresh: number, total: number, lookback: string, floorIso: string): string {
  const s = fresh === 1 ? "y" : "ies";
  return (
    `clarifai-audit: warning: tail: ${fresh} entr${s} landed more than ${lookback} behind the newest printed entry ` +
    `(dated before ${floorIso}) and will not be printed (${total} so far); a longer --lookback prints them ` +
    "(docs/cli/tail.md: late entries)\n"
  );
}
