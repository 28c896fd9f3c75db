/**
 * The report's charts: Vega-Lite specifications compiled to Vega and rendered headless to SVG
 * strings at build time (`renderer: "none"`, no DOM, no canvas, no network), so the page needs no
 * script to show them. docs/cli/report.md says why Vega-Lite.
 */
import * as vega from "vega";
import { type Config, compile, type TopLevelSpec } from "vega-lite";
import type { ReportData } from "./aggregate.js";
import { CATEGORIES } from "./entry.js";

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

/** Day or month bars: daily up to this many days between the first and last, monthly beyond. */
const MAX_DAILY_SPAN = 400;

/** The bucket of the time charts. */
export type Granularity = "day" | "month";

/** Daily bars for windows up to ~13 months, monthly beyond. */
export function granularityOf(data: ReportData): Granularity {
  const first = data.days[0];
  const last = data.days[data.days.length - 1];
  if (first === undefined || last === undefined) return "day";
  const span = (Date.parse(`${last.day}T00:00:00Z`) - Date.parse(`${first.day}T00:00:00Z`)) / 86_400_000;
  return span > MAX_DAILY_SPAN ? "month" : "day";
}

/** The y axis of a time chart: the sum of `count` per bar, titled. */
function countAxis(title: string, axis: Record<string, unknown>) {
  return { field: "count", type: "quantitative", aggregate: "sum", title, axis } as const;
}

/** Per-period counts for the time charts (days, or months folded from them). */
export function periods(data: ReportData, granularity: Granularity): ReportData["days"] {
  if (granularity === "day") return data.days;
  const months = new Map<string, ReportData["days"][number]>();
  for (const d of data.days) {
    const key = d.day.slice(0, 7);
    let m = months.get(key);
    if (m === undefined) {
      m = { day: key, byCategory: new Array<number>(CATEGORIES.length).fill(0), failed: 0 };
      months.set(key, m);
    }
    const sums = m.byCategory;
    d.byCategory.forEach((n, i) => {
      sums[i] = (sums[i] ?? 0) + n;
    });
    m.failed += d.failed;
  }
  return [...months.values()];
}

function periodMs(period: string): number {
  return Date.parse(period.length === 7 ? `${period}-01T00:00:00Z` : `${period}T00:00:00Z`);
}

function timeAxis(granularity: Granularity) {
  return {
    field: "t",
    type: "temporal" as const,
    timeUnit: granularity === "day" ? ("utcyearmonthdate" as const) : ("utcyearmonth" as const),
    title: granularity === "day" ? "Day (UTC)" : "Month (UTC)",
    axis: { format: granularity === "day" ? "%b %d" : "%b %Y", labelAngle: 0, labelOverlap: true },
  };
}

/** The Vega-Lite specification of each chart (exported for tests and for anyone restyling them). */
export function chartSpecs(data: ReportData): Record<string, TopLevelSpec> {
  const granularity = granularityOf(data);
  const rows = periods(data, granularity);
  const activity = rows.flatMap((p) =>
    p.byCategory.flatMap((count, i) =>
      count > 0 ? [{ t: periodMs(p.day), category: CATEGORY_LABELS[i], order: i, count }] : [],
    ),
  );
  const failures = rows.filter((p) => p.failed > 0).map((p) => ({ t: periodMs(p.day), count: p.failed }));
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
      width: WIDTH - 130,
      height: 220,
      data: { values: activity },
      mark: { type: "bar", width: { band: 0.9 } },
      encoding: {
        x: timeAxis(granularity),
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
      width: WIDTH - 130,
      height: 160,
      data: { values: failures },
      mark: { type: "bar", color: FAILED_COLOUR, width: { band: 0.9 } },
      encoding: {
        x: timeAxis(granularity),
        y: countAxis("Failed operations", { format: ",d", tickMinStep: 1 }),
      },
    },
    users: barSpec(
      bars(data.topUsers.map((u) => ({ label: u.userId || "(none)", total: u.total, failed: u.failed }))),
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
        data.topSourceIps.map((u) => ({ label: u.sourceIp || "(none)", total: u.total, failed: u.failed })),
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
export async function renderCharts(data: ReportData): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(chartSpecs(data))) out[name] = await renderSvg(spec);
  return out;
}
