/**
 * The report's aggregation: one pass over the entries, in any order, into structures whose size does
 * not depend on the number of entries — counters, per-day and weekday × hour grids, capped maps of
 * users and source IPs, and for each table the earliest and latest rows only.
 */
import {
  civilFromDays,
  compareTimestamps,
  type Timestamp,
} from "@clarifai-audit/client/internal/domain/time.js";
import { CATEGORIES, categoryIndex, isDeletion, isMembershipChange, type ReportEntry } from "./entry.js";

/** Bounds of the aggregation's structures. */
export interface ReportLimits {
  /** Rows kept at each end of a table (the earliest and the latest): a table shows at most twice this. */
  tableRows: number;
  /** Distinct users, and distinct source IPs, counted exactly; past it they are counted as "more than". */
  distinctCap: number;
  /** (user, source IP) pairs tracked for the first-seen table. */
  firstSeenCap: number;
  /** Bars in the top-users and top-IPs charts. */
  topN: number;
  /** Characters of an entry's details kept for a table row. */
  detailChars: number;
}

/** The limits `report` uses. */
export const DEFAULT_LIMITS: ReportLimits = {
  tableRows: 30,
  distinctCap: 100_000,
  firstSeenCap: 20_000,
  topN: 15,
  detailChars: 600,
};

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

/** Entries and failed entries of one user or source IP. */
export interface Tally {
  total: number;
  failed: number;
}

/** Counts per key, exactly for the first `cap` distinct keys; entries of keys past it are counted apart. */
class CappedTally {
  readonly map = new Map<string, Tally>();
  /** Entries whose key arrived after the cap was reached. */
  untracked = 0;
  constructor(readonly cap: number) {}
  add(key: string, failed: boolean): void {
    let t = this.map.get(key);
    if (t === undefined) {
      if (this.map.size >= this.cap) {
        this.untracked++;
        return;
      }
      t = { total: 0, failed: 0 };
      this.map.set(key, t);
    }
    t.total++;
    if (failed) t.failed++;
  }
}

/** A row of the deletions, membership and failures tables. */
export interface EntryRow {
  timestamp: string;
  userId: string;
  operation: string;
  description: string;
  targets: string;
  details: string;
  success: boolean;
  sourceIp: string;
  reqId: string;
}

/** A row of the first-seen table: when a user was first seen from a source IP. */
export interface FirstSeenRow {
  userId: string;
  sourceIp: string;
  /** Exact, as exported. */
  firstSeen: string;
  entries: number;
}

/** One day (or month, for long windows) of activity. */
export interface PeriodCounts {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /** Entries per category, in {@link CATEGORIES} order. */
  byCategory: number[];
  failed: number;
}

/** The aggregated report, ready to render. */
export interface ReportData {
  totals: {
    entries: number;
    failed: number;
    deletions: number;
    membershipChanges: number;
    users: number;
    /** True when there were more distinct users than `distinctCap` (then `users` is a lower bound). */
    usersCapped: boolean;
    sourceIps: number;
    sourceIpsCapped: boolean;
  };
  /** Earliest and latest entry, exact; undefined when there were none. */
  span?: { earliest: string; latest: string };
  days: PeriodCounts[];
  /** Entries per weekday (Monday first) × hour (UTC): `heat[weekday * 24 + hour]`. */
  heat: number[];
  topUsers: (Tally & { userId: string })[];
  topSourceIps: (Tally & { sourceIp: string })[];
  operations: (Tally & { name: string; category: string })[];
  deletions: TableRows<EntryRow>;
  membership: TableRows<EntryRow>;
  failures: TableRows<EntryRow>;
  firstSeen: { rows: FirstSeenRow[]; omitted: number; untrackedPairs: boolean };
  limits: ReportLimits;
}

interface FirstSeen {
  ts: Timestamp;
  text: string;
  entries: number;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function dayText(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** Streams entries into a {@link ReportData}. */
export class ReportAggregator {
  #entries = 0;
  #failed = 0;
  #deletions = 0;
  #membership = 0;
  #earliest: { ts: Timestamp; text: string } | undefined;
  #latest: { ts: Timestamp; text: string } | undefined;
  readonly #users: CappedTally;
  readonly #ips: CappedTally;
  readonly #ops = new Map<string, Tally & { category: string }>();
  /** Day number (days since 1970-01-01) → entries per category, then failed. */
  readonly #days = new Map<number, number[]>();
  readonly #heat = new Array<number>(7 * 24).fill(0);
  readonly #firstSeen = new Map<string, Map<string, FirstSeen>>();
  #pairs = 0;
  #untrackedPairs = false;
  readonly #deletionRows: EdgeRows<EntryRow>;
  readonly #membershipRows: EdgeRows<EntryRow>;
  readonly #failureRows: EdgeRows<EntryRow>;

  constructor(readonly limits: ReportLimits = DEFAULT_LIMITS) {
    this.#users = new CappedTally(limits.distinctCap);
    this.#ips = new CappedTally(limits.distinctCap);
    this.#deletionRows = new EdgeRows(limits.tableRows);
    this.#membershipRows = new EdgeRows(limits.tableRows);
    this.#failureRows = new EdgeRows(limits.tableRows);
  }

  /** Entries added so far. */
  get entries(): number {
    return this.#entries;
  }

  /** Counts one entry. */
  add(e: ReportEntry): void {
    this.#entries++;
    const failed = !e.success;
    if (failed) this.#failed++;
    if (this.#earliest === undefined || compareTimestamps(e.ts, this.#earliest.ts) < 0) {
      this.#earliest = { ts: e.ts, text: e.timestamp };
    }
    if (this.#latest === undefined || compareTimestamps(e.ts, this.#latest.ts) > 0) {
      this.#latest = { ts: e.ts, text: e.timestamp };
    }
    this.#users.add(e.userId, failed);
    this.#ips.add(e.sourceIp, failed);
    const category = categoryIndex(e.operation);
    let op = this.#ops.get(e.operationName);
    if (op === undefined) {
      op = { total: 0, failed: 0, category: CATEGORIES[category] as string };
      this.#ops.set(e.operationName, op);
    }
    op.total++;
    if (failed) op.failed++;

    const day = Math.floor(e.ts.seconds / 86400);
    let counts = this.#days.get(day);
    if (counts === undefined) {
      counts = new Array<number>(CATEGORIES.length + 1).fill(0);
      this.#days.set(day, counts);
    }
    (counts[category] as number)++;
    if (failed) (counts[CATEGORIES.length] as number)++;
    // 1970-01-01 was a Thursday (weekday 3, Monday first).
    const weekday = (((day + 3) % 7) + 7) % 7;
    const hour = Math.floor((e.ts.seconds - day * 86400) / 3600);
    (this.#heat[weekday * 24 + hour] as number)++;

    if (e.userId !== "" && e.sourceIp !== "") this.#seen(e);
    const row = () => this.#row(e);
    if (isDeletion(e)) {
      this.#deletions++;
      this.#deletionRows.add(e.ts, row);
    }
    if (isMembershipChange(e)) {
      this.#membership++;
      this.#membershipRows.add(e.ts, row);
    }
    if (failed) this.#failureRows.add(e.ts, row);
  }

  #seen(e: ReportEntry): void {
    let ips = this.#firstSeen.get(e.userId);
    const seen = ips?.get(e.sourceIp);
    if (seen !== undefined) {
      seen.entries++;
      if (compareTimestamps(e.ts, seen.ts) < 0) {
        seen.ts = e.ts;
        seen.text = e.timestamp;
      }
      return;
    }
    if (this.#pairs >= this.limits.firstSeenCap) {
      this.#untrackedPairs = true;
      return;
    }
    if (ips === undefined) {
      ips = new Map();
      this.#firstSeen.set(e.userId, ips);
    }
    ips.set(e.sourceIp, { ts: e.ts, text: e.timestamp, entries: 1 });
    this.#pairs++;
  }

  #row(e: ReportEntry): EntryRow {
    const max = this.limits.detailChars;
    return {
      timestamp: e.timestamp,
      userId: e.userId,
      operation: e.operationName,
      description: clip(e.description, max),
      targets: clip(e.targets.join(", "), max),
      details: clip(e.details.join("\n"), max),
      success: e.success,
      sourceIp: e.sourceIp,
      reqId: e.reqId,
    };
  }

  /** The report so far. */
  result(): ReportData {
    const { topN } = this.limits;
    const users = distinct(this.#users);
    const ips = distinct(this.#ips);
    const days = [...this.#days.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([day, counts]) => ({
        day: dayText(day),
        byCategory: counts.slice(0, CATEGORIES.length),
        failed: counts[CATEGORIES.length] as number,
      }));
    const byCount = <T extends Tally>(a: [string, T], b: [string, T]) =>
      b[1].total - a[1].total || (a[0] < b[0] ? -1 : 1);
    // By user, and within a user in the order the IPs were first seen.
    const seen: (FirstSeenRow & { ts: Timestamp })[] = [];
    for (const [userId, ips] of this.#firstSeen) {
      for (const [sourceIp, s] of ips)
        seen.push({ userId, sourceIp, firstSeen: s.text, entries: s.entries, ts: s.ts });
    }
    seen.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : compareTimestamps(a.ts, b.ts)));
    const firstSeenRows: FirstSeenRow[] = seen.map(({ ts: _, ...row }) => row);
    const shown = 10 * this.limits.tableRows;
    return {
      totals: {
        entries: this.#entries,
        failed: this.#failed,
        deletions: this.#deletions,
        membershipChanges: this.#membership,
        users: users.count,
        usersCapped: users.capped,
        sourceIps: ips.count,
        sourceIpsCapped: ips.capped,
      },
      ...(this.#earliest && this.#latest
        ? { span: { earliest: this.#earliest.text, latest: this.#latest.text } }
        : {}),
      days,
      heat: [...this.#heat],
      topUsers: [...this.#users.map]
        .sort(byCount)
        .slice(0, topN)
        .map(([userId, t]) => ({ userId, ...t })),
      topSourceIps: [...this.#ips.map]
        .sort(byCount)
        .slice(0, topN)
        .map(([sourceIp, t]) => ({ sourceIp, ...t })),
      operations: [...this.#ops]
        .sort(byCount)
        .map(([name, t]) => ({ name, total: t.total, failed: t.failed, category: t.category })),
      deletions: this.#deletionRows.rows(),
      membership: this.#membershipRows.rows(),
      failures: this.#failureRows.rows(),
      firstSeen: {
        rows: firstSeenRows.slice(0, shown),
        omitted: Math.max(0, firstSeenRows.length - shown),
        untrackedPairs: this.#untrackedPairs,
      },
      limits: this.limits,
    };
  }
}

/** Distinct non-empty keys of a tally. */
function distinct(t: CappedTally): { count: number; capped: boolean } {
  return { count: t.map.size - (t.map.has("") ? 1 : 0), capped: t.untracked > 0 };
}
