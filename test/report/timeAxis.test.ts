/**
 * The report's time axis without a browser: the bucket chosen from the window's length, buckets that
 * cover the whole window (zeros included), tick labels that are unique and fit for windows of an
 * hour, a day, 90 days, a year and across a year boundary; and the charts drawn from it — both time
 * charts on the same domain, every bucket in their data, and the labels Vega draws (read back from
 * the SVG) exactly the axis's own.
 */
import { ReportAggregator } from "../../packages/cli/src/report/aggregate.js";
import { chartSpecs, renderSvg } from "../../packages/cli/src/report/charts.js";
import { bucketCounts, reportAxis } from "../../packages/cli/src/report/periods.js";
import { PLOT_WIDTH, timeAxis, type WindowMs } from "../../packages/cli/src/report/timeAxis.js";
import { exportedEntryFromJson } from "../../packages/client/src/domain/exportedEntry.js";

const ms = (iso: string) => Date.parse(iso);
const win = (from: string, to: string): WindowMs => ({ fromMs: ms(from), toMs: ms(to) });

/** The labels Vega drew on the axis titled `title`, read from the SVG (its axis groups, in order). */
function svgAxisLabels(svg: string, title: string): string[] {
  const axis =
    svg.split('class="mark-group role-axis"').find((part) => part.includes(`>${title}</text>`)) ?? "";
  const labels = axis.split('class="mark-text role-axis-label"')[1]?.split("</g>")[0] ?? "";
  return [...labels.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
}

describe("timeAxis", () => {
  const cases: [string, WindowMs, string, number][] = [
    ["an hour", win("2026-12-06T10:15:00Z", "2026-12-06T11:14:59Z"), "hour", 2],
    ["a day", win("2026-12-05T10:30:00Z", "2026-12-06T10:29:59Z"), "hour", 25],
    ["90 days", win("2026-09-08T00:00:00Z", "2026-12-06T23:59:59Z"), "day", 90],
    ["a year", win("2025-12-07T00:00:00Z", "2026-12-06T23:59:59Z"), "week", 53],
    ["across a year boundary", win("2025-12-20T00:00:00Z", "2026-01-10T23:59:59Z"), "day", 22],
    ["three years", win("2024-01-01T00:00:00Z", "2026-12-31T23:59:59Z"), "month", 36],
  ];
  it.each(cases)("%s: buckets cover the window; labels unique, in order, and fit", (_, w, unit, buckets) => {
    const axis = timeAxis(w);
    expect(axis.unit).toBe(unit);
    expect(axis.buckets).toHaveLength(buckets);
    expect(axis.domain[0]).toBe(axis.buckets[0]);
    expect(axis.domain[0]).toBeLessThanOrEqual(w.fromMs);
    expect(axis.domain[1]).toBeGreaterThan(w.toMs);
    // No bucket wholly outside the window.
    expect(axis.buckets[1] ?? axis.domain[1]).toBeGreaterThan(w.fromMs);
    expect(axis.buckets[axis.buckets.length - 1]).toBeLessThanOrEqual(w.toMs);
    const labels = axis.ticks.map((t) => t.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels.length).toBeGreaterThanOrEqual(2);
    // Neighbours at least half their widths apart on the plot (~6.2 px a character).
    const px = PLOT_WIDTH / (axis.domain[1] - axis.domain[0]);
    for (let i = 1; i < labels.length; i++) {
      const gap = (axis.ticks[i]!.ms - axis.ticks[i - 1]!.ms) * px;
      expect(gap).toBeGreaterThanOrEqual((labels[i]!.length + labels[i - 1]!.length) * 3.1 + 18);
    }
    for (const t of axis.ticks) {
      expect(t.ms).toBeGreaterThanOrEqual(axis.domain[0]);
      expect(t.ms).toBeLessThanOrEqual(axis.domain[1]);
    }
    expect(axis.title).toMatch(/\(UTC\)$/);
  });
  it("labels name what tells ticks apart: the day of an hour, the year where it changes", () => {
    expect(timeAxis(cases[1]![1]).ticks.map((t) => t.label)).toEqual([
      "Dec 05 12:00",
      "Dec 05 18:00",
      "Dec 06 00:00",
      "Dec 06 06:00",
    ]);
    const boundary = timeAxis(cases[4]![1]).ticks.map((t) => t.label);
    expect(boundary[0]).toMatch(/^Dec \d\d 2025$/);
    expect(boundary.find((l) => l.startsWith("Jan"))).toMatch(/^Jan \d\d 2026$/);
    expect(timeAxis(cases[3]![1]).ticks.map((t) => t.label)).toEqual([
      "Jan 2026",
      "Mar 2026",
      "May 2026",
      "Jul 2026",
      "Sep 2026",
      "Nov 2026",
    ]);
  });
});

describe("time charts", () => {
  // Entries on two days of a 90-day window: 88 days have none.
  const agg = new ReportAggregator();
  for (let i = 0; i < 40; i++) {
    const day = i < 25 ? "2026-10-01" : "2026-12-05";
    agg.add(
      exportedEntryFromJson({
        timestamp: `${day}T${String(8 + (i % 10)).padStart(2, "0")}:00:00.123456789Z`,
        user: { id: `u${i % 20}` },
        operation: i % 3 === 0 ? "MODEL_DELETE" : "APP_CREATE",
        success: i % 4 !== 0,
        source_ip: `10.0.0.${i}`,
      }),
    );
  }
  const data = agg.result();
  const axis = reportAxis(
    { from: "2026-09-08T00:00:00Z", to: "2026-12-06T23:59:59Z", basis: "requested" },
    data,
  );
  const buckets = bucketCounts(data, axis);
  const specs = chartSpecs(data, axis, buckets);
  type Spec = {
    encoding: { x: { scale: { domain: number[] }; axis: { values: number[] } } };
    data: { values: { t: number; count: number }[] };
  };
  const activity = specs.activity as unknown as Spec;
  const failures = specs.failures as unknown as Spec;

  it("span the whole window on one shared domain, with every bucket (zeros included) in their data", () => {
    expect(buckets).toHaveLength(90);
    expect(buckets.filter((b) => b.total > 0).map((b) => b.name)).toEqual(["2026-10-01", "2026-12-05"]);
    expect(buckets.reduce((a, b) => a + b.total, 0)).toBe(40);
    expect(buckets.reduce((a, b) => a + b.failed, 0)).toBe(data.totals.failed);
    expect(activity.encoding.x.scale.domain).toEqual([
      ms("2026-09-08T00:00:00Z"),
      ms("2026-12-07T00:00:00Z"),
    ]);
    expect(failures.encoding.x.scale.domain).toEqual(activity.encoding.x.scale.domain);
    expect(failures.encoding.x.axis.values).toEqual(activity.encoding.x.axis.values);
    // One datum per bucket at least: a day without entries is a zero bar, not a missing day.
    const inBucket = (values: { t: number }[]) =>
      new Set(values.map((v) => buckets.findIndex((b) => b.start <= v.t && v.t < b.end)));
    expect(inBucket(activity.data.values).size).toBe(90);
    expect(inBucket(failures.data.values).size).toBe(90);
    expect(failures.data.values.filter((v) => v.count === 0)).toHaveLength(88);
  });
  it("draw the axis's labels: read back from the SVG, unique and the same on both charts", async () => {
    const [a, f] = await Promise.all([renderSvg(specs.activity!), renderSvg(specs.failures!)]);
    const labels = axis.ticks.map((t) => t.label);
    expect(svgAxisLabels(a, "Day (UTC)")).toEqual(labels);
    expect(svgAxisLabels(f, "Day (UTC)")).toEqual(labels);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels.length).toBeGreaterThanOrEqual(4);
  });
});
