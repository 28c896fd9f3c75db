/**
 * The report's one time axis: the bucket (hour, day, week or month) chosen from the window's length, the
 * buckets that cover the whole window (so empty ones are charted as zero, and a 90-day window is
 * charted over 90 days whatever days hold entries), and the ticks with labels that are unique and
 * readable for that length. Every time chart of a page uses the one {@link TimeAxis}. Times are UTC.
 */

/** The bucket of the time charts and of the per-period counts. */
export type BucketUnit = "hour" | "day" | "week" | "month";

/** A window as instants: `fromMs` and `toMs` both inside it (epoch milliseconds, UTC). */
export interface WindowMs {
  fromMs: number;
  toMs: number;
}

/** One tick of the time axis. */
export interface Tick {
  /** Epoch milliseconds. */
  ms: number;
  label: string;
}

/** The time axis of a page. */
export interface TimeAxis {
  unit: BucketUnit;
  /** Start of the first bucket and end (exclusive) of the last: the charts' x domain. */
  domain: [startMs: number, endMs: number];
  /** Start of every bucket, oldest first (the last ends at `domain[1]`). */
  buckets: number[];
  ticks: Tick[];
  /** The axis title, time zone included. */
  title: string;
  /** The window charted (the first and last buckets may reach outside it). */
  window: WindowMs;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Hourly buckets up to this many hours between the window's ends (a day or two of activity). */
const MAX_HOURLY_SPAN = 72 * HOUR;
/** Daily buckets up to four months (a bar of a 120-day window is still ~4 px wide). */
const MAX_DAILY_SPAN = 120 * DAY;
/** Weekly buckets (from Monday) up to two years; monthly beyond. */
const MAX_WEEKLY_SPAN = 732 * DAY;
/** Width of a time chart's plot in CSS pixels (packages/cli/src/report/charts.ts draws it so). */
export const PLOT_WIDTH = 530;
/** An axis label's width: ~6.2 px a character at 11 px Helvetica, and room between labels. */
const labelWidth = (label: string) => label.length * 6.2 + 18;
/** 1970-01-05, epoch day 4, was a Monday: weeks are counted from it. */
const MONDAY = 4 * DAY;
const WEEK = 7 * DAY;

/** The bucket for a window: hours up to three days, days up to four months, weeks up to two years, months beyond. */
export function bucketUnit(window: WindowMs): BucketUnit {
  const span = window.toMs - window.fromMs;
  if (span <= MAX_HOURLY_SPAN) return "hour";
  if (span <= MAX_DAILY_SPAN) return "day";
  return span <= MAX_WEEKLY_SPAN ? "week" : "month";
}

/** The start of the bucket holding `ms`. */
export function bucketStart(ms: number, unit: BucketUnit): number {
  if (unit === "hour") return Math.floor(ms / HOUR) * HOUR;
  if (unit === "day") return Math.floor(ms / DAY) * DAY;
  if (unit === "week") return Math.floor((ms - MONDAY) / WEEK) * WEEK + MONDAY;
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucket(start: number, unit: BucketUnit): number {
  if (unit === "hour") return start + HOUR;
  if (unit === "day") return start + DAY;
  if (unit === "week") return start + WEEK;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** A bucket's name in tables: `2025-01-17T09:00Z`, `2025-01-17` (a day, or the Monday a week starts), `2025-01`. */
export function bucketName(start: number, unit: BucketUnit): string {
  const iso = new Date(start).toISOString();
  return unit === "hour" ? `${iso.slice(0, 16)}Z` : unit === "month" ? iso.slice(0, 7) : iso.slice(0, 10);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** How ticks step: a number of hours or days (aligned on UTC midnight or Monday), or of months. */
type TickStep = { every: "hour" | "day" | "month"; n: number };

const HOUR_STEPS = [1, 2, 3, 6, 12].map((n) => ({ every: "hour" as const, n }));
const DAY_STEPS = [1, 2, 7, 14].map((n) => ({ every: "day" as const, n }));
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60, 120].map((n) => ({ every: "month" as const, n }));

/** Tick instants from `start` (inclusive) to `end` (inclusive) on `step`'s grid. */
function tickInstants(start: number, end: number, step: TickStep): number[] {
  const out: number[] = [];
  if (step.every === "month") {
    const d = new Date(start);
    // Months counted from year 0; aligned on multiples of n (quarters start in Jan, Apr, …).
    let k = d.getUTCFullYear() * 12 + d.getUTCMonth();
    if (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) < start) k++;
    k = Math.ceil(k / step.n) * step.n;
    const at = (months: number) => Date.UTC(Math.floor(months / 12), months % 12, 1);
    for (; at(k) <= end; k += step.n) out.push(at(k));
    return out;
  }
  const size = (step.every === "hour" ? HOUR : DAY) * step.n;
  // Weeks start on Monday: 1970-01-05 was one (epoch day 4).
  const offset = step.every === "day" && step.n % 7 === 0 ? MONDAY : 0;
  for (let t = Math.ceil((start - offset) / size) * size + offset; t <= end; t += size) out.push(t);
  return out;
}

/**
 * The label of each tick, unique on the axis: hours name their day (`Dec 06 18:00`: a window of
 * more than a day has every hour twice); days name the year on the first tick and where it
 * changes (`Dec 29 2025`, `Jan 05 2026`); months always name their year (`Mar 2026`).
 */
export function tickLabels(ticks: number[], every: TickStep["every"]): string[] {
  let year: number | undefined;
  return ticks.map((ms) => {
    const d = new Date(ms);
    const day = `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())}`;
    if (every === "hour") return `${day} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
    if (every === "month") return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    const changed = year !== d.getUTCFullYear();
    year = d.getUTCFullYear();
    return changed ? `${day} ${year}` : day;
  });
}

/**
 * Whether labels centred on `ticks` fit on the plot without touching: each pair of neighbours at
 * least half their widths apart (Vega draws them so, and hides none: labelOverlap is off).
 */
function fits(ticks: number[], labels: string[], domain: [number, number]): boolean {
  const px = PLOT_WIDTH / (domain[1] - domain[0]);
  for (let i = 1; i < ticks.length; i++) {
    const gap = ((ticks[i] as number) - (ticks[i - 1] as number)) * px;
    if (gap < (labelWidth(labels[i] as string) + labelWidth(labels[i - 1] as string)) / 2) return false;
  }
  return true;
}

/** The finest step (of those allowed for the unit) whose labels fit the plot, with at least two ticks. */
function pickTicks(start: number, end: number, unit: BucketUnit): { step: TickStep; at: number[] } {
  const steps =
    unit === "hour"
      ? [...HOUR_STEPS, ...DAY_STEPS]
      : unit === "day"
        ? [...DAY_STEPS, ...MONTH_STEPS]
        : unit === "week"
          ? [...DAY_STEPS.filter((s) => s.n % 7 === 0), ...MONTH_STEPS]
          : MONTH_STEPS;
  let fallback: { step: TickStep; at: number[] } | undefined;
  for (const step of steps) {
    const at = tickInstants(start, end, step);
    if (!fits(at, tickLabels(at, step.every), [start, end])) continue;
    if (at.length >= 2) return { step, at };
    fallback ??= { step, at };
  }
  // A domain too short for two ticks on any grid (one hour): its start alone.
  return fallback ?? { step: { every: unit === "hour" ? "hour" : "day", n: 1 }, at: [start] };
}

/** The time axis of a window: its bucket, buckets, domain and ticks. */
export function timeAxis(window: WindowMs): TimeAxis {
  const unit = bucketUnit(window);
  const start = bucketStart(window.fromMs, unit);
  const buckets: number[] = [];
  let end = start;
  for (; end <= window.toMs; end = nextBucket(end, unit)) buckets.push(end);
  const { step, at } = pickTicks(start, end, unit);
  const labels = tickLabels(at, step.every);
  return {
    unit,
    domain: [start, end],
    buckets,
    ticks: at.map((ms, i) => ({ ms, label: labels[i] as string })),
    window,
    title: { hour: "Hour (UTC)", day: "Day (UTC)", week: "Week from Monday (UTC)", month: "Month (UTC)" }[
      unit
    ],
  };
}
