/**
 * The exporter's two error classes, apart from the exporter: the CLI's error reporting maps them to
 * exit codes, and must not load the exporter (and its transcoder) to do so.
 */
import type { ExportSummary } from "./summary.js";

/** A problem with the request or the files on disk, found before or without talking to the server. */
export class ExportUsageError extends Error {
  override name = "ExportUsageError";
}

/** Raised when the export was stopped by its AbortSignal; a resumable manifest was committed. */
export class ExportInterruptedError extends Error {
  override name = "ExportInterruptedError";
  constructor(readonly summary: ExportSummary) {
    super(`export interrupted after ${summary.entries} entries; rerun with --resume to continue`);
  }
}
