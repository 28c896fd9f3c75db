/**
 * The report's charts: Vega-Lite specifications compiled to Vega and rendered headless to SVG
 * strings at build time (`renderer: "none"`, no DOM, no canvas, no network), so the page needs no
 * script to show them. docs/cli/report.md says why Vega-Lite.
 */
import * as vega from "vega";
import { type Config, compile, type TopLevelSpec } from "vega-lite";
import type { ReportData } from "./aggregate.js";
import type { BucketCounts } from "./periods.js";
import { PLOT_WIDTH, type TimeAxis } from "./timeAxis.js";

/** Chart width in CSS pixels: an A4 page's printable width at 96 dpi, less a little. */
const WIDTH = 660;
/** Category labels, in {@link CATEGORIES} order. */
export const CATEGORY_LABELS = [
  "Organisation",
  "Module",
  "Model",
  "Workflow",
  "Application",
  "Collaborator",
  "User",
  "Compute",
  "Other",
];
// Tableau 10, one colour per category; fixed so a category keeps its colour across reports.
const CATEGORY_COLOURS = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];
/** Weekday labels, Monday first (the heat map's rows). */
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const FAILED_COLOUR = "#d62728";
const OK_COLOUR = "#4e79a7";

const CONFIG: Config = {
  font: "Helvetica, Arial, sans-serif",
  background: "white",
  view: { stroke: null },
  axis: {
    labelFontSize: 11,
    titleFontSize: 11,
    titleFontWeight: "normal",
    labelColor: "#333",
    titleColor: "#333",
  },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: "normal" },
};

/** The y axis of a time chart: the sum of `count` per bar, titled. */
function countAxis(title: string, axis: Record<string, unknown>) {
  // One width for every time chart's y axis, so that their plots, and so their time axes, line up.
  return {
    field: "count",
    type: "quantitative",
    aggregate: "sum",
    title,
    axis: { ...axis, minExtent: 44, maxExtent: 44 },
  } as const;
}

/**
 * The x encoding every time chart of a page shares: the whole window as the domain, with the ticks
 * and labels of {@link TimeAxis} (Vega's own would repeat a day's label on a short window). The
 * scale is linear over epoch milliseconds, so Vega neither widens ("nice") nor shifts the domain;
 * a bar runs from `t` to `t2`, its bucket's start and end, less a gap.
 */
function timeEncoding(axis: TimeAxis) {
  const labels = Object.fromEntries(axis.ticks.map((t) => [String(t.ms), t.label]));
  return {
    x: {
      field: "t",
      type: "quantitative" as const,
      title: axis.title,
      scale: { domain: [...axis.domain], nice: false, zero: false },
      axis: {
        values: axis.ticks.map((t) => t.ms),
        labelExpr: `${JSON.stringify(labels)}[toString(datum.value)]`,
        labelAngle: 0,
        labelOverlap: false,
        labelFlush: true,
        grid: false,
      },
    },
    x2: { field: "t2" },
  };
}

/** A bar's drawn extent: its bucket, less a tenth of it (so that adjacent bars stay apart). */
function barExtent(b: BucketCounts) {
  const gap = (b.end - b.start) * 0.05;
  return { t: b.start + gap, t2: b.end - gap };
}

/** The Vega-Lite specification of each chart (exported for tests and for anyone restyling them). */
export function chartSpecs(
  data: ReportData,
  axis: TimeAxis,
  buckets: BucketCounts[],
  topN: number = data.limits.topN,
): Record<string, TopLevelSpec> {
  // Every bucket is in the data, those without entries too (a zero bar): the data covers the whole
  // window. A bucket's categories without entries are left out (a zero-height bar draws nothing).
  const activity = buckets.flatMap((b) => {
    const pieces = b.byCategory.flatMap((count, i) =>
      count > 0 ? [{ ...barExtent(b), category: CATEGORY_LABELS[i], order: i, count }] : [],
    );
    return pieces.length > 0
      ? pieces
      : [{ ...barExtent(b), category: CATEGORY_LABELS[8], order: 8, count: 0 }];
  });
  const failures = buckets.map((b) => ({ ...barExtent(b), count: b.failed }));
  const bars = (items: { label: string; total: number; failed: number }[]) =>
    items.flatMap((u) => [
      { label: u.label, outcome: "succeeded", count: u.total - u.failed },
      { label: u.label, outcome: "failed", count: u.failed },
    ]);
  const barSpec = (values: ReturnType<typeof bars>, title: string): TopLevelSpec => ({
    config: CONFIG,
    width: WIDTH - 220,
    height: { step: 18 } as unknown as number,
    data: { values },
    mark: { type: "bar" },
    encoding: {
      y: { field: "label", type: "nominal", sort: "-x", title, axis: { labelLimit: 270 } },
      x: { field: "count", type: "quantitative", aggregate: "sum", title: "Entries", axis: { format: ",d" } },
      color: {
        field: "outcome",
        type: "nominal",
        scale: { domain: ["succeeded", "failed"], range: [OK_COLOUR, FAILED_COLOUR] },
        legend: { title: "Outcome", orient: "right" },
      },
      order: { field: "outcome", sort: "descending" },
    },
  });
  const heat = data.heat.map((count, i) => ({
    weekday: WEEKDAYS[Math.floor(i / 24)],
    hour: i % 24,
    count,
  }));
  return {
    activity: {
      config: CONFIG,
      width: PLOT_WIDTH,
      height: 220,
      data: { values: activity },
      mark: { type: "bar" },
      encoding: {
        ...timeEncoding(axis),
        y: countAxis("Entries", { format: ",d" }),
        color: {
          field: "category",
          type: "nominal",
          scale: { domain: CATEGORY_LABELS, range: CATEGORY_COLOURS },
          legend: { title: "Category" },
        },
        order: { field: "order", type: "quantitative" },
      },
    },
    failures: {
      config: CONFIG,
      width: PLOT_WIDTH,
      height: 160,
      data: { values: failures },
      mark: { type: "bar", color: FAILED_COLOUR },
      encoding: {
        ...timeEncoding(axis),
        y: countAxis("Failed operations", { format: ",d", tickMinStep: 1 }),
      },
    },
    users: barSpec(
      bars(
        data.users
          .slice(0, topN)
          .map((u) => ({ label: u.userId || "(none)", total: u.total, failed: u.failed })),
      ),
      "User",
    ),
    heatmap: {
      config: CONFIG,
      width: WIDTH - 130,
      height: 7 * 24,
      data: { values: heat },
      mark: { type: "rect" },
      encoding: {
        x: { field: "hour", type: "ordinal", title: "Hour of day (UTC)", axis: { labelAngle: 0 } },
        y: { field: "weekday", type: "ordinal", sort: WEEKDAYS, title: null },
        color: {
          field: "count",
          type: "quantitative",
          title: "Entries",
          scale: { scheme: "blues" },
          legend: { format: ",d" },
        },
      },
    },
    sourceIps: barSpec(
      bars(
        data.sourceIps
          .slice(0, topN)
          .map((u) => ({ label: u.sourceIp || "(none)", total: u.total, failed: u.failed })),
      ),
      "Source IP",
    ),
  };
}

/** Renders one Vega-Lite specification to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every chart of the report, rendered: name → SVG. */
export async function renderCharts(
  data: ReportData,
  axis: TimeAxis,
  buckets: BucketCounts[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(chartSpecs(data, axis, buckets)))
    out[name] = await renderSvg(spec);
  return out;
}
