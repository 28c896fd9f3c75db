/**
 * `clarifai-audit report --out FILE.html`: an activity report of an export file, of a Parquet lake, or
 * of a live window walked by the export engine into an aggregating sink (see src/report/). Loaded only
 * when `report` runs; vega and vega-lite load with it, the client and the engine only for a live
 * window, DuckDB only for --lake, puppeteer-core only for --pdf.
 */

import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { EXPORT_MAX_ATTEMPTS } from "@clarifai-audit/client/internal/domain/limits.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import {
  compareTimestamps,
  formatTimestamp,
  nowTimestamp,
  parseTimestamp,
  type Timestamp,
} from "@clarifai-audit/client/internal/domain/time.js";
import { formatTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import { checkOutputPath } from "@clarifai-audit/client/internal/state/outputPath.js";
import { DEFAULT_LIMITS, ReportAggregator, type ReportData } from "../report/aggregate.js";
import { renderCharts } from "../report/charts.js";
import type { ReportEntry } from "../report/entry.js";
import { cutLists, FULL_LIST_NAMES, type FullListName, fullListCsvs } from "../report/fullLists.js";
import { type ReportMeta, type ReportPage, renderHtml } from "../report/html.js";
import { besideRef } from "../report/htmlTables.js";
import { InputError, readExportFile } from "../report/input.js";
import { bucketCounts, instantMs, type ReportWindow, reportAxis } from "../report/periods.js";
import { renderJson } from "../report/reportJson.js";
import { InterruptedError, UsageError } from "./exitCodes.js";
import type { ExportMemory } from "./exportMemory.js";
import type { ConnectionFlags, FilterFlags, ResolvedWindow } from "./queryOptions.js";
import type { CommandContext, CommandResult } from "./runner.js";
import { CONNECTION_FLAGS, FILTER_FLAGS, givenFlag } from "./sharedFlags.js";
import type { FORMATS } from "./vocabulary.js";

/** The flags of `report`, as commander parses them. */
export interface ReportFlags extends FilterFlags, ConnectionFlags {
  out: string;
  format?: ReportFormat;
  settle: number;
  concurrency: number;
  perPage: number;
  pdf?: string;
  title?: string;
  input?: string;
  lake?: string;
  quiet?: boolean;
  json?: boolean;
}

function sizeText(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The filter flags as given, for the page: flag → values. */
function filterList(flags: ReportFlags): [string, string][] {
  const list: [string, string][] = [];
  for (const [key, flag] of FILTER_FLAGS) {
    const value = flags[key as keyof FilterFlags];
    if (value === undefined || key === "from" || key === "to" || key === "since" || key === "until") continue;
    if (value === true) list.push([flag, ""]);
    else if (Array.isArray(value)) for (const v of value) list.push([flag, v]);
    else list.push([flag, String(value)]);
  }
  return list;
}

/** Walks a live window through the export engine into the aggregator; returns the pinned window and the source. */
async function aggregateLive(
  ctx: CommandContext,
  flags: ReportFlags,
  aggregator: ReportAggregator,
  memory: ExportMemory,
): Promise<{ window?: { from: string; to: string }; source: string }> {
  const { filtersToQuery, resolveWindow } = await import("./queryOptions.js");
  const { exportToSink } = await import("@clarifai-audit/client/internal/export/engine.js");
  const { ReportSink } = await import("../report/sink.js");
  const filters = filtersToQuery(flags);
  const window = resolveWindow(flags, ctx.clock.now());
  const client = await ctx.client(flags, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  const sink = new ReportSink(aggregator);
  const { walkReading } = await import("./progress.js");
  const progress = await ctx.progress(!flags.quiet);
  let pinned: { from: string; to: string } | undefined;
  try {
    await exportToSink({
      sink,
      client,
      query: filters,
      ...(window.from ? { from: window.from } : {}),
      ...(window.to ? { to: window.to } : {}),
      settleMs: flags.settle,
      concurrency: flags.concurrency,
      perPage: flags.perPage,
      signal: ctx.signal,
      onProgress: (p) => {
        memory.afterPage();
        progress.update(walkReading(p));
      },
      onWindow: (w) => {
        pinned = { from: formatTs(w.from), to: formatTs(w.to) };
        if (!flags.quiet) {
          ctx.say(`reporting on the window from ${pinned.from} to ${pinned.to} (UTC)`);
        }
      },
    });
  } catch (error) {
    // Stopped during the first request the engine reports the client's cancel, later its own.
    if (error instanceof ExportInterruptedError || ctx.signal.aborted)
      throw new InterruptedError(
        `report interrupted after ${aggregator.entries} entries; no report was written (run it again)`,
      );
    throw error;
  } finally {
    progress.stop();
  }
  return { ...(pinned ? { window: pinned } : {}), source: `${client.endpoint}, user ${client.userId}` };
}

/** One of the report's formats (packages/cli/src/cli/vocabulary.ts's FORMATS.report). */
export type ReportFormat = (typeof FORMATS.report)[number];

/**
 * `--format` (commander checked it against FORMATS.report), or the one `--out`'s name implies
 * (`.pdf`, `.json`), else html (stdout too).
 */
export function reportFormat(out: string, flag: ReportFormat | undefined): ReportFormat {
  if (flag !== undefined) return flag;
  const name = out.toLowerCase();
  return name.endsWith(".pdf") ? "pdf" : name.endsWith(".json") ? "json" : "html";
}

/** The window flags: with --input or --lake they bound the report (the other filters need a live window). */
const WINDOW_KEYS = new Set(["from", "to", "since", "until"]);
const NON_WINDOW_FILTERS = FILTER_FLAGS.filter(([key]) => !WINDOW_KEYS.has(key));

/** The CSV files written beside a PDF: `q3.pdf` → `q3.users.csv`, … */
function besidePdf(pdf: string, name: FullListName): string {
  return `${pdf.replace(/\.pdf$/i, "")}.${name}.csv`;
}

/** Writes `text` to the run's stdout, resolving once it is handed to the stream. */
function writeStdout(ctx: CommandContext, text: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    ctx.io.stdout.write(text, (error) => (error ? reject(error) : resolve())),
  );
}

/** Runs `report` with its parsed flags (defined in packages/cli/src/cli/commands/report.ts). */
export async function runReport(ctx: CommandContext, flags: ReportFlags): Promise<CommandResult> {
  if (flags.lake !== undefined && flags.input !== undefined)
    throw new UsageError("--lake: give one input, --lake DIR or --input FILE, not both");
  const format = reportFormat(flags.out, flags.format);
  const toStdout = flags.out === "-";
  if (toStdout && format === "pdf")
    throw new UsageError(
      "--out -: a PDF is not written to stdout (the full lists of its tables are CSV files beside it); name a file, or use --format html|json",
    );
  // The filter and connection groups select a live window: refused for a lake or a file (the window flags bound them).
  const liveOnly = givenFlag(flags, NON_WINDOW_FILTERS, CONNECTION_FLAGS);
  if (flags.lake !== undefined && liveOnly !== undefined)
    throw new UsageError(
      `${liveOnly}: filters and connection flags select a live window; with --lake the report covers the lake (or the window of --from/--to, --since/--until)`,
    );
  if (flags.input !== undefined && liveOnly !== undefined)
    throw new UsageError(
      `${liveOnly}: filters and connection flags select a live window; with --input the report covers the file (or the window of --from/--to, --since/--until): export the entries you want first`,
    );
  if (flags.title !== undefined && flags.title.trim() === "")
    throw new UsageError("--title: must not be empty");
  const nowMs = ctx.clock.now();
  let requested: ResolvedWindow = {};
  // queryOptions brings the client in: loaded only when a file's or a lake's window is asked for.
  const windowGiven = FILTER_FLAGS.some(
    ([key]) => WINDOW_KEYS.has(key) && flags[key as keyof FilterFlags] !== undefined,
  );
  if ((flags.input !== undefined || flags.lake !== undefined) && windowGiven) {
    const { resolveWindow } = await import("./queryOptions.js");
    requested = resolveWindow(flags, nowMs);
  }
  if (!toStdout) await checkOutputPath("--out", flags.out);
  if (flags.pdf !== undefined) await checkOutputPath("--pdf", flags.pdf);
  // A PDF's cut tables go beside it as CSV: those paths are checked before any work too.
  const pdfs = [...(format === "pdf" ? [flags.out] : []), ...(flags.pdf !== undefined ? [flags.pdf] : [])];
  for (const pdf of pdfs)
    for (const name of FULL_LIST_NAMES) await checkOutputPath("--pdf", besidePdf(pdf, name));
  let chromium: string | undefined;
  if (pdfs.length > 0) {
    const { ChromiumMissingError, findChromium } = await import("../report/pdf.js");
    try {
      chromium = await findChromium(ctx.env);
    } catch (error) {
      if (error instanceof ChromiumMissingError) throw new UsageError(error.message);
      throw error;
    }
  }

  const aggregator = new ReportAggregator(DEFAULT_LIMITS);
  // The export's GC tuning (packages/cli/src/cli/exportMemory.ts): the same stream of short-lived entry objects
  // over a small steady heap, which V8's defaults let grow with the input.
  const memory = await ctx.tuneMemory("lean");
  // Reading a file or a lake stops at the next entry once SIGINT/SIGTERM aborted the run.
  const stopIfAborted = () => {
    if (ctx.signal.aborted)
      throw new InterruptedError(
        `report interrupted after ${aggregator.entries} entries; no report was written (run it again)`,
      );
  };
  let outside = 0;
  const inWindow = (ts: Timestamp) =>
    (requested.from === undefined || compareTimestamps(ts, requested.from) >= 0) &&
    (requested.to === undefined || compareTimestamps(ts, requested.to) <= 0);
  // A file or a lake: every entry of the window into the aggregator; its bad input is a usage error.
  const aggregate = async (
    read: (onEntry: (entry: ReportEntry) => void) => Promise<unknown>,
  ): Promise<void> => {
    try {
      await read((entry) => {
        stopIfAborted();
        if (!inWindow(entry.ts)) {
          outside++;
          return;
        }
        aggregator.add(entry);
        if (aggregator.entries % 1000 === 0) memory.afterPage();
      });
    } catch (error) {
      if (error instanceof InputError) throw new UsageError(error.message);
      throw error;
    }
  };
  let source: string;
  let window: { from: string; to: string } | undefined;
  let highWater: string | undefined;
  const sourceKind = flags.input !== undefined ? "export" : flags.lake !== undefined ? "lake" : "live";
  if (flags.input !== undefined) {
    const path = flags.input;
    source = path;
    await aggregate((onEntry) => readExportFile(path, onEntry));
  } else if (flags.lake !== undefined) {
    const dir = flags.lake;
    source = dir;
    const { readLake } = await import("../report/lakeInput.js");
    await aggregate(async (onEntry) => {
      highWater = (await readLake(dir, onEntry)).highWater;
    });
  } else {
    ({ source, window } = await aggregateLive(ctx, flags, aggregator, memory));
  }
  const data: ReportData = aggregator.result();
  const charted = chartedWindow(window, requested, data, nowMs, highWater);
  const meta: ReportMeta = {
    title: flags.title ?? "Audit-log activity report",
    generatedAt: formatTimestamp(nowTimestamp()),
    source,
    sourceKind,
    ...(charted ? { window: charted } : {}),
    outside,
    filters: filterList(flags),
    version: ctx.version,
  };
  const axis = charted ? reportAxis(charted, data) : undefined;
  const page: ReportPage = {
    data,
    meta,
    ...(axis ? { axis } : {}),
    buckets: axis ? bucketCounts(data, axis) : [],
    charts: {},
    lists: fullListCsvs(data),
  };
  if (format !== "json" && data.totals.entries > 0 && axis)
    page.charts = await renderCharts(data, axis, page.buckets);
  const written: string[] = [];
  let bytes = 0;
  if (format === "pdf") {
    bytes = await printWithLists(page, flags.out, chromium as string, written);
  } else {
    const text = format === "json" ? renderJson(page) : renderHtml(page);
    bytes = Buffer.byteLength(text);
    if (toStdout) await writeStdout(ctx, text);
    else await writeFileAtomic(flags.out, text);
    written.push(`${toStdout ? "stdout" : terminalSafe(flags.out)} (${sizeText(bytes)})`);
  }
  if (flags.pdf !== undefined) await printWithLists(page, flags.pdf, chromium as string, written);
  const t = data.totals;
  const span = data.span
    ? ` from ${data.span.earliest} to ${data.span.latest}`
    : " (no entries: the report says so)";
  const left = outside > 0 ? ` (${outside.toLocaleString("en-US")} outside the window left out)` : "";
  return {
    ...(flags.quiet
      ? {}
      : {
          summary:
            `report: ${t.entries.toLocaleString("en-US")} entries${span}${left}; ${t.failed.toLocaleString("en-US")} failed, ` +
            `${t.deletions.toLocaleString("en-US")} deletions, ${t.users.toLocaleString("en-US")} users → ` +
            written.join(" and "),
        }),
    figures: {
      out: flags.out,
      format,
      entries: t.entries,
      failed: t.failed,
      deletions: t.deletions,
      users: t.users,
      outside,
      bytes,
      ...(flags.pdf !== undefined ? { pdf: flags.pdf } : {}),
    },
  };
}

/**
 * The window the page charts: the live window walked; else the one asked for with --from/--to
 * (an open start is the first entry's, an open end now); else a lake's first entry to its
 * high-water mark; else the entries' span; undefined with neither window nor entries.
 */
function chartedWindow(
  pinned: { from: string; to: string } | undefined,
  requested: ResolvedWindow,
  data: ReportData,
  nowMs: number,
  highWater: string | undefined,
): ReportWindow | undefined {
  if (pinned) return { ...pinned, basis: "pinned" };
  if (requested.from !== undefined || requested.to !== undefined) {
    const from = requested.from ? formatTimestamp(requested.from) : data.span?.earliest;
    const to = requested.to ? formatTimestamp(requested.to) : formatTimestamp(parseTimestamp(nowMs, "now"));
    if (from !== undefined) return { from, to, basis: "requested" };
  }
  if (data.span && highWater !== undefined && instantMs(highWater) >= instantMs(data.span.latest))
    return { from: data.span.earliest, to: highWater, basis: "synced" };
  return data.span ? { from: data.span.earliest, to: data.span.latest, basis: "entries" } : undefined;
}

/**
 * Prints the page to `pdf` with the full lists of its cut tables written beside it as CSV (the page
 * names them); appends what it wrote to `written`; returns the PDF's size.
 */
async function printWithLists(
  page: ReportPage,
  pdf: string,
  chromium: string,
  written: string[],
): Promise<number> {
  const { printPdf } = await import("../report/pdf.js");
  const cut = cutLists(page.lists);
  const files: Partial<Record<FullListName, string>> = {};
  for (const list of cut) files[list.name] = besidePdf(pdf, list.name);
  const names = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, basename(v)]));
  await printPdf(
    renderHtml(page, { openDetails: true, ref: besideRef(names) }),
    pdf,
    chromium,
    page.meta.title,
  );
  for (const list of cut) await writeFileAtomic(files[list.name] as string, list.csv);
  const size = (await stat(pdf)).size;
  written.push(
    `${terminalSafe(pdf)} (${sizeText(size)})${cut.length > 0 ? ` with ${cut.length} CSV file${cut.length === 1 ? "" : "s"} beside it` : ""}`,
  );
  return size;
}
