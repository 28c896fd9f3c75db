/**
 * The rows of the report's entry tables (deletions, membership changes, failures), kept in bounded
 * memory whatever the input's order: the earliest and latest few for the page ({@link EdgeRows}),
 * and the full list for its CSV and JSON ({@link FullRows}, up to a cap the page states).
 */
import { compareTimestamps, type Timestamp } from "@clarifai-audit/client/internal/domain/time.js";

interface Ranked<T> {
  ts: Timestamp;
  seq: number;
  row: T;
}

function before<T>(a: Ranked<T>, b: Ranked<T>): boolean {
  const c = compareTimestamps(a.ts, b.ts);
  return c < 0 || (c === 0 && a.seq < b.seq);
}

/** Where `item` goes in `list` (sorted oldest first). */
function insertionPoint<T>(list: Ranked<T>[], item: Ranked<T>): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(list[mid] as Ranked<T>, item)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The rows a table shows: every row, or the earliest and latest with the count of those between. */
export interface TableRows<T> {
  /** Rows offered. */
  total: number;
  /** The earliest rows (every row when `omitted` is 0), oldest first. */
  head: T[];
  /** Rows between head and tail that are not shown. */
  omitted: number;
  /** The latest rows, oldest first; empty when `omitted` is 0. */
  tail: T[];
}

/**
 * Keeps the `n` earliest and the `n` latest of the rows offered (by timestamp, then arrival), in
 * whatever order they arrive: memory is bounded by `2n` rows, whatever the input's order.
 */
export class EdgeRows<T> {
  #total = 0;
  readonly #earliest: Ranked<T>[] = [];
  readonly #latest: Ranked<T>[] = [];
  constructor(readonly n: number) {}

  /** Offers a row; `make` builds it only when it is kept. */
  add(ts: Timestamp, make: () => T): void {
    const item = { ts, seq: this.#total++, row: undefined as unknown as T };
    const n = this.n;
    const e = this.#earliest;
    const l = this.#latest;
    const intoEarliest = e.length < n || before(item, e[e.length - 1] as Ranked<T>);
    const intoLatest = l.length < n || before(l[0] as Ranked<T>, item);
    if (!intoEarliest && !intoLatest) return;
    item.row = make();
    if (intoEarliest) {
      e.splice(insertionPoint(e, item), 0, item);
      if (e.length > n) e.pop();
    }
    if (intoLatest) {
      l.splice(insertionPoint(l, item), 0, item);
      if (l.length > n) l.shift();
    }
  }

  /** What the table shows. With at most `2n` rows offered, the two ends together hold them all. */
  rows(): TableRows<T> {
    const total = this.#total;
    if (total <= 2 * this.n) {
      const all = new Map<number, Ranked<T>>();
      for (const item of [...this.#earliest, ...this.#latest]) all.set(item.seq, item);
      const head = [...all.values()].sort((a, b) => (before(a, b) ? -1 : 1)).map((i) => i.row);
      return { total, head, omitted: 0, tail: [] };
    }
    return {
      total,
      head: this.#earliest.map((i) => i.row),
      omitted: total - 2 * this.n,
      tail: this.#latest.map((i) => i.row),
    };
  }
}

/** The full list behind a table: every row (oldest first), or the earliest `cap` when there were more. */
export interface FullList<T> {
  /** Rows offered. */
  total: number;
  /** The rows kept, oldest first: all of them unless `total` > the cap. */
  rows: T[];
}

/**
 * Keeps the earliest `cap` rows offered (by timestamp, then arrival), in any arrival order: rows are
 * buffered and, whenever the buffer holds twice the cap, sorted and cut back to the cap (amortised
 * O(log n) a row, memory at most twice the cap).
 */
export class FullRows<T> {
  #total = 0;
  #kept: Ranked<T>[] = [];
  constructor(readonly cap: number) {}

  /** Offers a row. */
  add(ts: Timestamp, row: T): void {
    this.#kept.push({ ts, seq: this.#total++, row });
    if (this.#kept.length >= 2 * this.cap) this.#trim();
  }

  #trim(): void {
    this.#kept.sort((a, b) => (before(a, b) ? -1 : 1));
    if (this.#kept.length > this.cap) this.#kept.length = this.cap;
  }

  /** The list so far. */
  list(): FullList<T> {
    this.#trim();
    return { total: this.#total, rows: this.#kept.map((i) => i.row) };
  }
}
