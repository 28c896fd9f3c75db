/**
 * `clarifai-audit export --out FILE`: the bulk exporter on the command line (see src/export/).
 */

import { EXPORT_MAX_ATTEMPTS } from "../domain/limits.js";
import { formatTs } from "../domain/timestamps.js";
import { type ExportSummary, exportToSink } from "../export/engine.js";
import type { DataFormat } from "../export/formats.js";
import { FileSink, type FileSinkResult } from "../export/sinks/fileSink.js";
import { checkOutputPath } from "../state/outputPath.js";
import { UsageError } from "./exitCodes.js";
import { type MemoryMode, tuneMemoryForExport } from "./exportMemory.js";
import { abortOnSignals } from "./interrupt.js";
import { progressView } from "./progress.js";
import {
  type ConnectionFlags,
  clientFromFlags,
  type FilterFlags,
  filtersToQuery,
  resolveWindow,
} from "./queryOptions.js";
import { requestSummary } from "./requestStats.js";

/** The flags of `export`, as commander parses them. */
export interface ExportFlags extends FilterFlags, ConnectionFlags {
  out: string;
  format?: string;
  settle: number;
  concurrency: number;
  perPage: number;
  commitInterval: number;
  memory: MemoryMode;
  resume?: boolean;
  force?: boolean;
  quiet?: boolean;
}

const FORMATS: readonly DataFormat[] = ["jsonl", "csv", "json"];

/** `--format`, or the one the file name implies (`.csv`, `.json`, optionally `.gz`), else jsonl. */
export function exportFormat(out: string, flag: string | undefined): DataFormat {
  if (flag !== undefined) {
    if (!(FORMATS as readonly string[]).includes(flag)) {
      throw new UsageError(`--format: "${flag}" is not one of ${FORMATS.join(", ")}`);
    }
    return flag as DataFormat;
  }
  const name = out.toLowerCase().replace(/\.gz$/, "");
  if (name.endsWith(".csv")) return "csv";
  if (name.endsWith(".json")) return "json";
  return "jsonl";
}

function summaryLine(out: string, s: ExportSummary & FileSinkResult, concurrency: number): string {
  const seconds = s.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(s.entries / seconds) : s.entries;
  return (
    `exported ${s.entries} entries in ${s.pages} pages to ${out}${s.resumed ? " (resumed)" : ""}: ` +
    `${s.bytes} bytes, sha256 ${s.sha256}; retries ${s.retries}, shifted pages ${s.shiftedPages} ` +
    `(${s.repeated + s.stale} overlapping entries dropped), slices ${s.slices} (splits ${s.splits}), ` +
    `requests ${s.requests}; ` +
    (s.lowestConcurrency < concurrency
      ? `pages in flight lowered to ${s.lowestConcurrency} of ${concurrency} after retries; `
      : "") +
    `${seconds.toFixed(2)} s, ${rate} entries/s`
  );
}

/** Runs `export` with its parsed flags (defined in src/cli/commands.ts). */
export async function runExportCommand(flags: ExportFlags): Promise<void> {
  if (flags.out === "") throw new UsageError("--out: the file name is empty; name the output file");
  if (flags.resume && flags.force) throw new UsageError("--resume and --force cannot be combined");
  const format = exportFormat(flags.out, flags.format);
  const filters = filtersToQuery(flags);
  const window = resolveWindow(flags);
  await checkOutputPath("--out", flags.out);
  const client = clientFromFlags({ maxAttempts: EXPORT_MAX_ATTEMPTS, ...flags });
  const controller = new AbortController();
  const removeSignalHandlers = abortOnSignals(controller);
  const sink = new FileSink({
    out: flags.out,
    format,
    gzip: flags.out.toLowerCase().endsWith(".gz"),
    resume: flags.resume ?? false,
    force: flags.force ?? false,
  });
  const progress = progressView(!flags.quiet);
  // After the modules have loaded: their one-off allocations need no tight GC.
  const memory = tuneMemoryForExport(flags.memory);
  try {
    const summary = await exportToSink({
      sink,
      client,
      query: filters,
      // The window as written, so a resume with --since 24h is the same export a day later.
      identity: {
        from: flags.from ?? null,
        to: flags.to ?? null,
        since: flags.since ?? null,
        until: flags.until ?? null,
      },
      ...(window.from ? { from: window.from } : {}),
      ...(window.to ? { to: window.to } : {}),
      settleMs: flags.settle,
      concurrency: flags.concurrency,
      perPage: flags.perPage,
      commitIntervalMs: flags.commitInterval,
      signal: controller.signal,
      onWindow: (w) => {
        if (!flags.quiet) {
          process.stderr.write(
            `${w.resumed ? "resuming" : "exporting"} window from ${formatTs(w.from)} to ${formatTs(w.to)} (UTC, oldest first)\n`,
          );
        }
      },
      onProgress: (p) => {
        memory.afterPage();
        progress.update(p);
      },
    });
    progress.stop();
    process.stderr.write(
      `${summaryLine(flags.out, { ...summary, ...sink.result }, flags.concurrency)}; ${requestSummary(client.stats())}\n`,
    );
  } catch (error) {
    progress.stop();
    throw error;
  } finally {
    removeSignalHandlers();
    client.close();
  }
}
