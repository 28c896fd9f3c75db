/**
 * `clarifai-audit report --out FILE.html`: an activity report of an export file, of a Parquet lake, or
 * of a live window walked by the export engine into an aggregating sink (see src/report/). Loaded only
 * when `report` runs; vega and vega-lite load with it, the client and the engine only for a live
 * window, DuckDB only for --lake, puppeteer-core only for --pdf.
 */

import { stat } from "node:fs/promises";
import { EXPORT_MAX_ATTEMPTS } from "@clarifai-audit/client/internal/domain/limits.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import { formatTimestamp, nowTimestamp } from "@clarifai-audit/client/internal/domain/time.js";
import { formatTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import { checkOutputPath } from "@clarifai-audit/client/internal/state/outputPath.js";
import { DEFAULT_LIMITS, ReportAggregator, type ReportData } from "../report/aggregate.js";
import { renderCharts } from "../report/charts.js";
import type { ReportEntry } from "../report/entry.js";
import { type ReportMeta, renderHtml } from "../report/html.js";
import { InputError, readExportFile } from "../report/input.js";
import { InterruptedError, UsageError } from "./exitCodes.js";
import type { ExportMemory } from "./exportMemory.js";
import type { ConnectionFlags, FilterFlags } from "./queryOptions.js";
import type { CommandContext, CommandResult } from "./runner.js";
import { CONNECTION_FLAGS, FILTER_FLAGS, givenFlag } from "./sharedFlags.js";

/** The flags of `report`, as commander parses them. */
export interface ReportFlags extends FilterFlags, ConnectionFlags {
  out: string;
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

/** Runs `report` with its parsed flags (defined in packages/cli/src/cli/commands/report.ts). */
export async function runReport(ctx: CommandContext, flags: ReportFlags): Promise<CommandResult> {
  if (flags.lake !== undefined && flags.input !== undefined)
    throw new UsageError("--lake: give one input, --lake DIR or --input FILE, not both");
  // The filter and connection groups select a live window: refused for a lake or a file.
  const liveOnly = givenFlag(flags, FILTER_FLAGS, CONNECTION_FLAGS);
  if (flags.lake !== undefined && liveOnly !== undefined)
    throw new UsageError(
      `${liveOnly}: filters and connection flags select a live window; with --lake the report covers the whole lake (query it, or export the window you want first)`,
    );
  if (flags.input !== undefined && liveOnly !== undefined)
    throw new UsageError(
      `${liveOnly}: filters and connection flags select a live window; with --input the report covers the whole file (export the window you want first)`,
    );
  if (flags.title !== undefined && flags.title.trim() === "")
    throw new UsageError("--title: must not be empty");
  await checkOutputPath("--out", flags.out);
  if (flags.pdf !== undefined) await checkOutputPath("--pdf", flags.pdf);
  let chromium: string | undefined;
  if (flags.pdf !== undefined) {
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
  // A file or a lake: every entry into the aggregator; its bad input is a usage error.
  const aggregate = async (
    read: (onEntry: (entry: ReportEntry) => void) => Promise<unknown>,
  ): Promise<void> => {
    try {
      await read((entry) => {
        stopIfAborted();
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
  if (flags.input !== undefined) {
    const path = flags.input;
    source = path;
    await aggregate((onEntry) => readExportFile(path, onEntry));
  } else if (flags.lake !== undefined) {
    const dir = flags.lake;
    source = dir;
    const { readLake } = await import("../report/lakeInput.js");
    await aggregate((onEntry) => readLake(dir, onEntry));
  } else {
    ({ source, window } = await aggregateLive(ctx, flags, aggregator, memory));
  }
  const data: ReportData = aggregator.result();
  const meta: ReportMeta = {
    title: flags.title ?? "Audit-log activity report",
    generatedAt: formatTimestamp(nowTimestamp()),
    source,
    ...(window ? { window } : {}),
    filters: filterList(flags),
    version: ctx.version,
  };
  const charts = data.totals.entries > 0 ? await renderCharts(data) : {};
  const html = renderHtml(data, meta, charts);
  await writeFileAtomic(flags.out, html);
  let pdfNote = "";
  if (flags.pdf !== undefined && chromium !== undefined) {
    const { printPdf } = await import("../report/pdf.js");
    await printPdf(renderHtml(data, meta, charts, { openDetails: true }), flags.pdf, chromium, meta.title);
    pdfNote = ` and ${terminalSafe(flags.pdf)} (${sizeText((await stat(flags.pdf)).size)})`;
  }
  const t = data.totals;
  const span = data.span
    ? ` from ${data.span.earliest} to ${data.span.latest}`
    : " (no entries: the report says so)";
  return {
    ...(flags.quiet
      ? {}
      : {
          summary:
            `report: ${t.entries.toLocaleString("en-US")} entries${span}; ${t.failed.toLocaleString("en-US")} failed, ` +
            `${t.deletions.toLocaleString("en-US")} deletions, ${t.users.toLocaleString("en-US")} users → ` +
            `${terminalSafe(flags.out)} (${sizeText(Buffer.byteLength(html))})${pdfNote}`,
        }),
    figures: {
      out: flags.out,
      entries: t.entries,
      failed: t.failed,
      deletions: t.deletions,
      users: t.users,
      bytes: Buffer.byteLength(html),
      ...(flags.pdf !== undefined ? { pdf: flags.pdf } : {}),
    },
  };
}
