/**
 * The full lists behind the tables the page cuts short (top users and source IPs, the entry tables,
 * first-seen pairs), as CSV: embedded in the HTML page as downloads, written beside a PDF. Each says
 * how many rows it holds of how many there were, so the page's "N of M" can be checked against it.
 */
import { stringify } from "csv-stringify/sync";
import type { EntryRow, FullList, ReportData } from "./aggregate.js";

/** The tables that have a full list, by file-name stem. */
export const FULL_LIST_NAMES = [
  "users",
  "source-ips",
  "deletions",
  "membership-changes",
  "failed-operations",
  "first-seen",
] as const;
/** One of {@link FULL_LIST_NAMES}. */
export type FullListName = (typeof FULL_LIST_NAMES)[number];

/** A full list as CSV. */
export interface FullListCsv {
  name: FullListName;
  /** Rows of the page's table. */
  shown: number;
  /** Rows in the CSV. */
  rows: number;
  /** Rows there were; more than `rows` only when a memory cap of the aggregation was reached. */
  total: number;
  /** Why the CSV holds fewer than `total`, when it does. */
  capNote?: string;
  csv: string;
}

/** The columns of an entry table's full list (CSV header, and the JSON rows' keys). */
export const ENTRY_COLUMNS = [
  "timestamp",
  "user_id",
  "operation",
  "description",
  "targets",
  "details",
  "success",
  "source_ip",
  "req_id",
] as const;

function entryCsv(list: FullList<EntryRow>): string {
  return stringify([
    [...ENTRY_COLUMNS],
    ...list.rows.map((r) => [
      r.timestamp,
      r.userId,
      r.operation,
      r.description,
      r.targets,
      r.details,
      String(r.success),
      r.sourceIp,
      r.reqId,
    ]),
  ]);
}

/** How many rows of each cut table the page shows (tables never cut are left out). */
export function shownRows(data: ReportData): Record<FullListName, number> {
  const edge = (t: ReportData["deletions"]) => t.head.length + t.tail.length;
  return {
    users: Math.min(data.users.length, data.limits.topN),
    "source-ips": Math.min(data.sourceIps.length, data.limits.topN),
    deletions: edge(data.deletions),
    "membership-changes": edge(data.membership),
    "failed-operations": edge(data.failures),
    "first-seen": Math.min(data.firstSeen.rows.length, firstSeenShown(data)),
  };
}

/** Rows of the first-seen table on the page. */
export function firstSeenShown(data: ReportData): number {
  return 10 * data.limits.tableRows;
}

/** Every full list, as CSV. */
export function fullListCsvs(data: ReportData): Record<FullListName, FullListCsv> {
  const shown = shownRows(data);
  const fullNote = `the earliest ${data.limits.fullRows.toLocaleString("en-US")} are kept; an export of the window holds every one`;
  const entries = (name: FullListName, list: FullList<EntryRow>): FullListCsv => ({
    name,
    shown: shown[name],
    rows: list.rows.length,
    total: list.total,
    ...(list.rows.length < list.total ? { capNote: fullNote } : {}),
    csv: entryCsv(list),
  });
  const tally = (
    name: FullListName,
    header: string,
    items: { key: string; total: number; failed: number }[],
  ) => ({
    name,
    shown: shown[name],
    rows: items.length,
    total: items.length,
    csv: stringify([
      [header, "entries", "succeeded", "failed"],
      ...items.map((i) => [i.key, i.total, i.total - i.failed, i.failed]),
    ]),
  });
  const cap = (capped: boolean) =>
    capped
      ? {
          capNote: `only the first ${data.limits.distinctCap.toLocaleString("en-US")} distinct values met are counted`,
        }
      : {};
  const fs = data.firstSeen;
  return {
    users: {
      ...tally(
        "users",
        "user_id",
        data.users.map((u) => ({ key: u.userId, ...u })),
      ),
      ...cap(data.totals.usersCapped),
    },
    "source-ips": {
      ...tally(
        "source-ips",
        "source_ip",
        data.sourceIps.map((u) => ({ key: u.sourceIp, ...u })),
      ),
      ...cap(data.totals.sourceIpsCapped),
    },
    deletions: entries("deletions", data.full.deletions),
    "membership-changes": entries("membership-changes", data.full.membership),
    "failed-operations": entries("failed-operations", data.full.failures),
    "first-seen": {
      name: "first-seen",
      shown: shown["first-seen"],
      rows: fs.rows.length,
      total: fs.rows.length,
      ...(fs.untrackedPairs
        ? {
            capNote: `only the first ${data.limits.firstSeenCap.toLocaleString("en-US")} user/IP pairs met are tracked`,
          }
        : {}),
      csv: stringify([
        ["user_id", "source_ip", "first_seen", "entries"],
        ...fs.rows.map((r) => [r.userId, r.sourceIp, r.firstSeen, r.entries]),
      ]),
    },
  };
}

/** The lists the page cuts short: those it shows fewer rows of than the list holds. */
export function cutLists(lists: Record<FullListName, FullListCsv>): FullListCsv[] {
  return FULL_LIST_NAMES.map((n) => lists[n]).filter((l) => l.shown < l.total);
}

/** A list as a `data:` URL (the page has no script, so no blob: link). */
export function csvDataUrl(list: FullListCsv): string {
  return `data:text/csv;charset=utf-8;base64,${Buffer.from(list.csv, "utf8").toString("base64")}`;
}
