/**
 * The exporter's error classes, apart from the exporter: the CLI's error reporting maps them to
 * exit codes, and must not load the exporter (and its transcoder) to do so.
 */
import { AuditUsageError, ClarifaiAuditError } from "../domain/errors.js";
import type { ExportSummary } from "./summary.js";

/**
 * A problem with the request or the files on disk, found before or without talking to the server;
 * `input` is the option (e.g. `out`, `perPage`) or file it is about.
 */
export class ExportUsageError extends AuditUsageError {
  override name = "ExportUsageError";
}

/** Raised when the export was stopped by its AbortSignal; a resumable manifest was committed. */
export class ExportInterruptedError extends ClarifaiAuditError {
  override name = "ExportInterruptedError";
  constructor(readonly summary: ExportSummary) {
    super(`export interrupted after ${summary.entries} entries; rerun with \`resume\` to continue`);
  }
}

/**
 * An input that cannot be read as audit-log entries: an export file (JSONL, a JSON array, gzip or
 * not) or a lake. `input` is the option that named it (`input`, `lake`).
 */
export class InputError extends ExportUsageError {
  override name = "InputError";

  /** `problem` names the file (and line) itself; `input` is the option that named the file. */
  constructor(problem: string, input = "input") {
    super({ input, problem });
  }
}
