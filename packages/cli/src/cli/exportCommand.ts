/**
 * `clarifai-audit export --out FILE`: the bulk exporter on the command line (see src/export/).
 * `--out -` writes the same bytes to stdout through the stream sink: nothing on disk, no resume.
 */

import type { SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import { readSigningKey } from "@clarifai-audit/client/internal/digest/keys.js";
import { EXPORT_MAX_ATTEMPTS } from "@clarifai-audit/client/internal/domain/limits.js";
import { formatTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { type ExportSummary, exportToSink } from "@clarifai-audit/client/internal/export/engine.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import type { DataFormat } from "@clarifai-audit/client/internal/export/formats.js";
import { FileSink, type FileSinkResult } from "@clarifai-audit/client/internal/export/sinks/fileSink.js";
import { StreamSink } from "@clarifai-audit/client/internal/export/sinks/streamSink.js";
import { checkOutputPath } from "@clarifai-audit/client/internal/state/outputPath.js";
import { InterruptedError, UsageError } from "./exitCodes.js";
import type { MemoryMode } from "./exportMemory.js";
import { walkReading } from "./progress.js";
import { type ConnectionFlags, type FilterFlags, filtersToQuery, resolveWindow } from "./queryOptions.js";
import { requestFigures, requestSummary } from "./requestStats.js";
import type { CommandContext, CommandResult } from "./runner.js";
import { FILE_FORMATS } from "./sharedFlags.js";

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
  json?: boolean;
  /** Private key files: sign each commit (a digest per commit in FILE.digests/). */
  sign?: string[];
  /** A time-stamping authority's URL: each digest carries its RFC 3161 token (needs --sign). */
  tsa?: string;
}

const FORMATS: readonly DataFormat[] = FILE_FORMATS;

/** The `--out` that names stdout. */
export const STDOUT_OUT = "-";

/**
 * Refuses what a stdout export cannot do, in one line saying why: it keeps no manifest or partial
 * file, so there is nothing to resume, and no file to overwrite.
 */
function checkStdoutFlags(flags: ExportFlags): void {
  if (flags.resume)
    throw new UsageError(
      "--resume: --out - writes to stdout, which cannot be resumed (no manifest or partial file is kept); export to a file to resume",
    );
  if (flags.force)
    throw new UsageError("--force: --out - writes to stdout; there is no file to overwrite or discard");
}

/**
 * The signing options of `--sign` and `--tsa`, refused in one line when they cannot apply; the keys
 * are read here, before any request (a key readable by others, or not Ed25519, is refused: exit 2).
 */
async function signOptions(
  flags: ExportFlags,
  toStdout: boolean,
  signal: AbortSignal | undefined,
): Promise<SignOptions | undefined> {
  if (flags.tsa !== undefined && flags.sign === undefined)
    throw new UsageError("--tsa: needs --sign (a time-stamp is over a signed digest); add --sign KEY");
  if (flags.sign === undefined) return undefined;
  if (toStdout)
    throw new UsageError(
      "--sign: --out - writes to stdout, where no digests can be kept beside the data; export to a file to sign it",
    );
  const keys = [];
  for (const path of flags.sign) keys.push(await readSigningKey(path, "sign"));
  if (flags.tsa === undefined) return { keys };
  // Loaded only when asked: the time-stamp client (ASN.1, CMS) is no cost to other exports.
  const { createTsaStamper } = await import("../timestamp/index.js");
  return { keys, stamp: createTsaStamper({ url: flags.tsa, ...(signal ? { signal } : {}) }) };
}

/** The head of a signed export's chain, for the summary line. */
function digestSummary(digest: FileSinkResult["digest"]): string {
  return digest === undefined ? "" : `; signed: digest ${digest.seq}, head ${digest.hash}`;
}

/**
 * `--format`, or the one the file name implies (`.csv`, `.json`, `.ocsf.jsonl`, `.ocsf`, optionally
 * `.gz`), else jsonl (and for stdout, `-`, which has no name to imply one).
 */
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
  if (name.endsWith(".ocsf.jsonl") || name.endsWith(".ocsf")) return "ocsf";
  return "jsonl";
}

function summaryLine(out: string, s: ExportSummary & FileSinkResult, concurrency: number): string {
  const seconds = s.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(s.entries / seconds) : s.entries;
  const where = out === STDOUT_OUT ? "stdout" : out;
  return (
    `exported ${s.entries} entries in ${s.pages} pages to ${where}${s.resumed ? " (resumed)" : ""}: ` +
    `${s.bytes} bytes, sha256 ${s.sha256}; retries ${s.retries}, shifted pages ${s.shiftedPages} ` +
    `(${s.repeated + s.stale} overlapping entries dropped), slices ${s.slices} (splits ${s.splits}), ` +
    `requests ${s.requests}; ` +
    (s.lowestConcurrency < concurrency
      ? `pages in flight lowered to ${s.lowestConcurrency} of ${concurrency} after retries; `
      : "") +
    `${seconds.toFixed(2)} s, ${rate} entries/s`
  );
}

/** Runs `export` with its parsed flags (defined in packages/cli/src/cli/commands/export.ts). */
export async function runExportCommand(ctx: CommandContext, flags: ExportFlags): Promise<CommandResult> {
  if (flags.out === "") throw new UsageError("--out: the file name is empty; name the output file");
  const toStdout = flags.out === STDOUT_OUT;
  if (toStdout) checkStdoutFlags(flags);
  if (flags.resume && flags.force) throw new UsageError("--resume and --force cannot be combined");
  const format = exportFormat(flags.out, flags.format);
  const sign = await signOptions(flags, toStdout, ctx.signal);
  const filters = filtersToQuery(flags);
  const window = resolveWindow(flags, ctx.clock.now());
  if (!toStdout) await checkOutputPath("--out", flags.out);
  const client = await ctx.client(flags, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  const sink = toStdout
    ? new StreamSink({ stream: ctx.io.stdout, format })
    : new FileSink({
        out: flags.out,
        format,
        gzip: flags.out.toLowerCase().endsWith(".gz"),
        resume: flags.resume ?? false,
        force: flags.force ?? false,
        ...(sign !== undefined ? { sign } : {}),
      });
  // Data on a terminal and a bar on the same terminal would garble each other: the data wins.
  const progress = await ctx.progress(!flags.quiet && !(toStdout && ctx.io.stdout.isTTY));
  // After the modules have loaded: their one-off allocations need no tight GC.
  const memory = await ctx.tuneMemory(flags.memory);
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
    signal: ctx.signal,
    onWindow: (w) => {
      if (!flags.quiet) {
        ctx.say(
          `${w.resumed ? "resuming" : "exporting"} window from ${formatTs(w.from)} to ${formatTs(w.to)} (UTC, oldest first)`,
        );
      }
    },
    onProgress: (p) => {
      memory.afterPage();
      progress.update(walkReading(p));
    },
  }).catch((error: unknown) => {
    // The engine's line says to rerun with --resume: stdout has nothing to resume from.
    if (toStdout && error instanceof ExportInterruptedError)
      throw new InterruptedError(
        `export to stdout interrupted after ${error.summary.entries} entries; it cannot be resumed: run it again (or export to a file, which can be)`,
      );
    throw error;
  });
  progress.stop();
  const done = { ...summary, ...sink.result };
  const stats = client.stats();
  return {
    // --quiet: only errors and warnings (the vocabulary's one meaning); --json still has the figures.
    ...(flags.quiet
      ? {}
      : {
          summary: `${summaryLine(flags.out, done, flags.concurrency)}; ${requestSummary(stats)}${digestSummary(done.digest)}`,
        }),
    figures: {
      out: flags.out,
      entries: done.entries,
      pages: done.pages,
      bytes: done.bytes,
      sha256: done.sha256,
      resumed: done.resumed,
      retries: done.retries,
      shiftedPages: done.shiftedPages,
      dropped: done.repeated + done.stale,
      seconds: done.durationMs / 1000,
      ...requestFigures(stats),
      ...(done.digest !== undefined ? { digest: { seq: done.digest.seq, hash: done.digest.hash } } : {}),
    },
  };
}
