/**
 * The report's aggregation: one pass over the entries, in any order, into structures whose size does
 * not depend on the number of entries — counters, per-day (and, for short windows, per-hour) and
 * weekday × hour grids, capped maps of users and source IPs, and for each table the earliest and
 * latest rows for the page and its full list (up to a cap) for the CSV and JSON.
 */
import { compareTimestamps, type Timestamp } from "@clarifai-audit/client/internal/domain/time.js";
import { CATEGORIES, categoryIndex, isDeletion, isMembershipChange, type ReportEntry } from "./entry.js";
import { EdgeRows, type FullList, FullRows, type TableRows } from "./rows.js";

export type { FullList, TableRows };

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
  /** Rows of each entry table's full list (its CSV and JSON): past it, the earliest this many. */
  fullRows: number;
}

/** The limits `report` uses. */
export const DEFAULT_LIMITS: ReportLimits = {
  tableRows: 30,
  distinctCap: 100_000,
  firstSeenCap: 20_000,
  topN: 15,
  detailChars: 600,
  fullRows: 25_000,
};

/** Distinct hours counted per hour: past it the window spans more than the hourly bucket's three days. */
const MAX_HOURS = 24 * 4;

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

/** One day (or hour) of activity: only those with entries. */
export interface PeriodCounts {
  /** The day's (hour's) start, epoch milliseconds (UTC). */
  start: number;
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
  /** Days with entries, oldest first. */
  days: PeriodCounts[];
  /** Hours with entries, oldest first; undefined when the entries span more than {@link MAX_HOURS} hours. */
  hours?: PeriodCounts[];
  /** Entries per weekday (Monday first) × hour (UTC): `heat[weekday * 24 + hour]`. */
  heat: number[];
  /** Every user counted, most entries first (the page charts the first `topN`). */
  users: (Tally & { userId: string })[];
  /** Every source IP counted, most entries first. */
  sourceIps: (Tally & { sourceIp: string })[];
  operations: (Tally & { name: string; category: string })[];
  deletions: TableRows<EntryRow>;
  membership: TableRows<EntryRow>;
  failures: TableRows<EntryRow>;
  /** The full lists behind the three tables above. */
  full: { deletions: FullList<EntryRow>; membership: FullList<EntryRow>; failures: FullList<EntryRow> };
  /** Every (user, source IP) pair tracked, by user; the page shows the first `10 × tableRows`. */
  firstSeen: { rows: FirstSeenRow[]; untrackedPairs: boolean };
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

/** Counts per period into `map` (period number → entries per category, then failed). */
function countPeriod(map: Map<number, number[]>, period: number, category: number, failed: boolean): void {
  let counts = map.get(period);
  if (counts === undefined) {
    counts = new Array<number>(CATEGORIES.length + 1).fill(0);
    map.set(period, counts);
  }
  (counts[category] as number)++;
  if (failed) (counts[CATEGORIES.length] as number)++;
}

/** The periods of `map`, oldest first; `size` is a period's length in milliseconds. */
function periodList(map: Map<number, number[]>, size: number): PeriodCounts[] {
  return [...map.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([period, counts]) => ({
      start: period * size,
      byCategory: counts.slice(0, CATEGORIES.length),
      failed: counts[CATEGORIES.length] as number,
    }));
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
  /** Hour number → the same; dropped (undefined) once it holds more than {@link MAX_HOURS}. */
  #hours: Map<number, number[]> | undefined = new Map();
  readonly #heat = new Array<number>(7 * 24).fill(0);
  readonly #firstSeen = new Map<string, Map<string, FirstSeen>>();
  #pairs = 0;
  #untrackedPairs = false;
  readonly #deletionRows: EdgeRows<EntryRow>;
  readonly #membershipRows: EdgeRows<EntryRow>;
  readonly #failureRows: EdgeRows<EntryRow>;
  readonly #full: { [K in keyof ReportData["full"]]: FullRows<EntryRow> };

  constructor(readonly limits: ReportLimits = DEFAULT_LIMITS) {
    this.#users = new CappedTally(limits.distinctCap);
    this.#ips = new CappedTally(limits.distinctCap);
    this.#deletionRows = new EdgeRows(limits.tableRows);
    this.#membershipRows = new EdgeRows(limits.tableRows);
    this.#failureRows = new EdgeRows(limits.tableRows);
    this.#full = {
      deletions: new FullRows(limits.fullRows),
      membership: new FullRows(limits.fullRows),
      failures: new FullRows(limits.fullRows),
    };
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
    countPeriod(this.#days, day, category, failed);
    if (this.#hours !== undefined) {
      countPeriod(this.#hours, Math.floor(e.ts.seconds / 3600), category, failed);
      if (this.#hours.size > MAX_HOURS) this.#hours = undefined;
    }
    // 1970-01-01 was a Thursday (weekday 3, Monday first).
    const weekday = (((day + 3) % 7) + 7) % 7;
    const hour = Math.floor((e.ts.seconds - day * 86400) / 3600);
    (this.#heat[weekday * 24 + hour] as number)++;

    if (e.userId !== "" && e.sourceIp !== "") this.#seen(e);
    if (!isDeletion(e) && !isMembershipChange(e) && !failed) return;
    // One row object for every list that keeps it: the full lists keep every row (up to their cap).
    const row = this.#row(e);
    const keep = () => row;
    if (isDeletion(e)) {
      this.#deletions++;
      this.#deletionRows.add(e.ts, keep);
      this.#full.deletions.add(e.ts, row);
    }
    if (isMembershipChange(e)) {
      this.#membership++;
      this.#membershipRows.add(e.ts, keep);
      this.#full.membership.add(e.ts, row);
    }
    if (failed) {
      this.#failureRows.add(e.ts, keep);
      this.#full.failures.add(e.ts, row);
    }
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
    const users = distinct(this.#users);
    const ips = distinct(this.#ips);
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
      days: periodList(this.#days, 86_400_000),
      ...(this.#hours !== undefined ? { hours: periodList(this.#hours, 3_600_000) } : {}),
      heat: [...this.#heat],
      users: [...this.#users.map].sort(byCount).map(([userId, t]) => ({ userId, ...t })),
      sourceIps: [...this.#ips.map].sort(byCount).map(([sourceIp, t]) => ({ sourceIp, ...t })),
      operations: [...this.#ops]
        .sort(byCount)
        .map(([name, t]) => ({ name, total: t.total, failed: t.failed, category: t.category })),
      deletions: this.#deletionRows.rows(),
      membership: this.#membershipRows.rows(),
      failures: this.#failureRows.rows(),
      full: {
        deletions: this.#full.deletions.list(),
        membership: this.#full.membership.list(),
        failures: this.#full.failures.list(),
      },
      firstSeen: {
        rows: firstSeenRows,
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
