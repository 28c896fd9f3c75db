/**
 * The counts per bucket of the page's time axis: one row for every bucket of the window, those
 * without entries as zeros, so a chart, a table, a CSV and the JSON all list the same buckets.
 */
import type { PeriodCounts, ReportData } from "./aggregate.js";
import { CATEGORIES } from "./entry.js";
import { bucketName, bucketStart, type TimeAxis, timeAxis, type WindowMs } from "./timeAxis.js";

/** One bucket of the time axis and its counts. */
export interface BucketCounts {
  /** Start and end (exclusive) of the bucket, epoch milliseconds (UTC). */
  start: number;
  end: number;
  /** `2025-01-17T09:00Z`, `2025-01-17` (a day, or the Monday a week starts) or `2025-01`. */
  name: string;
  /** Entries per category, in {@link CATEGORIES} order. */
  byCategory: number[];
  total: number;
  failed: number;
}

/** The window a report charts, and what it is. */
export interface ReportWindow {
  /** RFC 3339 UTC, exact. */
  from: string;
  to: string;
  /**
   * `pinned`: the live window the export engine walked; `requested`: --from/--to (--since/--until)
   * given with --input or --lake; `synced`: a lake's first entry to its high-water mark (every
   * entry up to it is stored); `entries`: the span of the entries (the input records no window).
   */
  basis: "pinned" | "requested" | "synced" | "entries";
}

/** Epoch milliseconds of an RFC 3339 instant (sub-millisecond digits dropped: buckets are hours at the finest). */
export function instantMs(text: string): number {
  return Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
}

/**
 * The page's time axis: the window's, widened to the entries' span should an entry lie outside it
 * (a chart must never drop counts the totals hold).
 */
export function reportAxis(window: ReportWindow, data: ReportData): TimeAxis {
  const w: WindowMs = { fromMs: instantMs(window.from), toMs: instantMs(window.to) };
  if (data.span) {
    w.fromMs = Math.min(w.fromMs, instantMs(data.span.earliest));
    w.toMs = Math.max(w.toMs, instantMs(data.span.latest));
  }
  return timeAxis(w);
}

/** Every bucket of `axis`, with the counts of `data` (zeros where there were no entries). */
export function bucketCounts(data: ReportData, axis: TimeAxis): BucketCounts[] {
  const source = axis.unit === "hour" ? data.hours : data.days;
  if (source === undefined) throw new Error("hourly counts were not kept for a window of more than 3 days");
  // Days are folded into weeks and months.
  const byStart = new Map<number, PeriodCounts[]>();
  for (const p of source) {
    const start = bucketStart(p.start, axis.unit);
    const list = byStart.get(start);
    if (list === undefined) byStart.set(start, [p]);
    else list.push(p);
  }
  return axis.buckets.map((start, i) => {
    const byCategory = new Array<number>(CATEGORIES.length).fill(0);
    let failed = 0;
    for (const p of byStart.get(start) ?? []) {
      p.byCategory.forEach((n, c) => {
        byCategory[c] = (byCategory[c] as number) + n;
      });
      failed += p.failed;
    }
    return {
      start,
      end: axis.buckets[i + 1] ?? axis.domain[1],
      name: bucketName(start, axis.unit),
      byCategory,
      total: byCategory.reduce((a, b) => a + b, 0),
      failed,
    };
  });
}
