/**
 * Entries to stdout for `search` and `tail`: a readable table on a terminal, JSON Lines / CSV / one
 * JSON array for pipes. Writes honour backpressure (await 'drain'), so a slow reader slows the fetch
 * instead of filling memory.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import { targetToText } from "@clarifai-audit/client/internal/domain/targets.js";
import {
  terminalSafe,
  terminalSafeJson,
  terminalSafeLines,
} from "@clarifai-audit/client/internal/domain/terminalText.js";
import { formatTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import {
  type DataFormat,
  formatEntries,
  formatFooter,
  formatHeader,
} from "@clarifai-audit/client/internal/export/formats.js";
import type { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { UsageError } from "./exitCodes.js";
import { FORMATS } from "./vocabulary.js";

/** Output formats of `search` and `tail`. */
export type OutputFormat = DataFormat | "table";

/** Every accepted `--format`. */
const OUTPUT_FORMATS: readonly OutputFormat[] = FORMATS.entries;

/** `--format`, or the default: table on a terminal, JSON Lines otherwise. */
export function chooseFormat(
  flag: string | undefined,
  stream: { isTTY?: boolean } = process.stdout,
): OutputFormat {
  if (flag === undefined) return stream.isTTY ? "table" : "jsonl";
  if (!(OUTPUT_FORMATS as readonly string[]).includes(flag)) {
    throw new UsageError(`--format: "${flag}" is not one of ${OUTPUT_FORMATS.join(", ")}`);
  }
  return flag as OutputFormat;
}

const COLUMNS: ReadonlyArray<[string, number]> = [
  ["TIMESTAMP", 27],
  ["OPERATION", 28],
  ["USER", 16],
  ["OK", 3],
  ["TARGETS", 40],
  ["DESCRIPTION", 0],
];

function cell(text: string, width: number): string {
  if (width === 0) return text;
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return t.padEnd(width);
}

function tableRow(values: string[]): string {
  return `${values
    // Entry text is anyone's: runs of white space become one space, other controls are escaped
    // before the cell is cut to width (so a cut never splits what the terminal would act on).
    .map((v, i) => cell(terminalSafe(v.replace(/\s+/g, " ")), (COLUMNS[i] as [string, number])[1]))
    .join("  ")
    .trimEnd()}\n`;
}

function tableEntry(e: AuditLogEntry): string {
  return tableRow([
    e.timestamp ? formatTs(e.timestamp) : "",
    operationName(e.operation),
    e.user?.id ?? "",
    e.success ? "yes" : "no",
    e.targets.map(targetToText).join(" "),
    e.description,
  ]);
}

/** Streams entries to a writable in one format; `end` closes the document (JSON's `]`). */
export class EntrySink {
  private written = 0;
  private started = false;

  constructor(
    readonly format: OutputFormat,
    private readonly out: Writable = process.stdout,
  ) {}

  /** Entries written so far. */
  get count(): number {
    return this.written;
  }

  private async put(text: string): Promise<void> {
    if (text.length === 0) return;
    if (!this.out.write(this.forTerminal(text))) await once(this.out, "drain");
  }

  /**
   * On a terminal, data formats are read by eyes too: JSON gets `\uXXXX` escapes for what it leaves
   * raw (the same value), CSV its control characters escaped. Redirected, they stay byte-exact.
   */
  private forTerminal(text: string): string {
    if (!(this.out as { isTTY?: boolean }).isTTY || this.format === "table") return text;
    return this.format === "csv" ? terminalSafeLines(text) : terminalSafeJson(text);
  }

  /** Writes the header (table heading, CSV header row, JSON's `[`). */
  async begin(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.put(this.format === "table" ? tableRow(COLUMNS.map(([h]) => h)) : formatHeader(this.format));
  }

  /** Writes entries. */
  async write(entries: readonly AuditLogEntry[]): Promise<void> {
    await this.begin();
    if (entries.length === 0) return;
    const text =
      this.format === "table"
        ? entries.map(tableEntry).join("")
        : formatEntries(this.format, entries, this.written);
    this.written += entries.length;
    await this.put(text);
  }

  /** Closes the document. */
  async end(): Promise<void> {
    await this.begin();
    if (this.format !== "table") await this.put(formatFooter(this.format, this.written));
  }
}
