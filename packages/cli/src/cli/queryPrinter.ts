/**
 * How `query` prints rows as they come: a table, CSV, one JSON array or JSON Lines
 * (packages/cli/src/cli/queryCommand.ts runs the statement; this module only writes).
 */
import { once } from "node:events";
import {
  terminalSafe,
  terminalSafeJson,
  terminalSafeLines,
} from "@clarifai-audit/client/internal/domain/terminalText.js";
import { stringify } from "csv-stringify/sync";
import type { CliOutput } from "./cliIo.js";
import { FORMATS as ENTRY_FORMATS } from "./vocabulary.js";

/** The output formats of `query`: the vocabulary's row formats (packages/cli/src/cli/vocabulary.ts). */
export const FORMATS = ENTRY_FORMATS.rows;
/** One of {@link FORMATS}. */
export type QueryFormat = (typeof FORMATS)[number];

/**
 * Rows a table is measured on before its first line is printed (one DuckDB chunk); later rows widen
 * their columns as they come, so a long value further down shifts only its own lines.
 */
export const TABLE_WIDTH_ROWS = 2048;

/** A row as DuckDB's JSON conversion gives it, by column name. */
export type Row = Record<string, unknown>;

/** A column of a table fitted to a width is never cut narrower than this (or its natural width). */
const MIN_FITTED_COLUMN = 8;

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Writes `text`, waiting for stdout to drain (a slow reader slows the fetch, memory stays flat). */
async function write(out: CliOutput, text: string): Promise<void> {
  if (text !== "" && !out.write(text)) await once(out, "drain");
}

/** What a format's text becomes on a terminal (packages/client/src/domain/terminalText.ts); exact elsewhere. */
function forTerminal(out: CliOutput, format: QueryFormat): (text: string) => string {
  if (!out.isTTY || format === "table") return (t) => t;
  return format === "csv" ? terminalSafeLines : terminalSafeJson;
}

/**
 * The widest column width `cap` such that the columns, none wider than `cap` (nor cut below
 * {@link MIN_FITTED_COLUMN}), fit `lineWidth` with their two-space gaps; undefined when they fit uncut.
 */
function fittedCap(widths: readonly number[], lineWidth: number): number | undefined {
  const total = (cap: number) =>
    widths.reduce((sum, w) => sum + Math.min(w, Math.max(cap, MIN_FITTED_COLUMN)), 0) +
    2 * (widths.length - 1);
  if (total(Math.max(...widths, 0)) <= lineWidth) return undefined;
  let [low, high] = [MIN_FITTED_COLUMN, Math.max(...widths)];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (total(mid) <= lineWidth) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** `text` cut to `width` characters, its last one `…` when cut. */
function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width < 2 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/** Options of a {@link Printer}. */
export interface PrinterOptions {
  /**
   * A table's line width (the terminal's columns): wider columns are cut, their cells ending in `…`,
   * and later rows no longer widen them; when the columns do not fit even cut, each row prints as a
   * record (`column | value` a line). Unset: columns as wide as their values.
   */
  lineWidth?: number;
}

/** Prints rows as they come, in one format. */
export class Printer {
  private rows = 0;
  private readonly widths: number[];
  /** The table's first rows, held until its widths are known; undefined once printed. */
  private pending: string[][] | undefined = [];
  private readonly safe: (text: string) => string;
  /** Cells are cut to their column's width (a table fitted to {@link PrinterOptions.lineWidth}). */
  private fitted = false;
  /**
   * Rows printed as records (one `column | value` a line), when the columns do not fit
   * {@link PrinterOptions.lineWidth} even cut: how many so far. Undefined: rows are a table's lines.
   */
  private records: number | undefined;

  constructor(
    private readonly out: CliOutput,
    private readonly format: QueryFormat,
    private readonly names: string[],
    private readonly options: PrinterOptions = {},
  ) {
    this.widths = names.map((n) => terminalSafe(n).length);
    this.safe = forTerminal(out, format);
  }

  /** Rows printed so far. */
  get count(): number {
    return this.rows;
  }

  private write(text: string): Promise<void> {
    return write(this.out, this.safe(text));
  }

  async add(rows: Row[]): Promise<void> {
    const first = this.rows === 0;
    this.rows += rows.length;
    if (this.format === "jsonl") await this.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    else if (this.format === "json")
      // The same text as JSON.stringify(allRows, null, 2), one row at a time.
      await this.write(
        rows
          .map(
            (r, i) =>
              `${first && i === 0 ? "[" : ","}\n  ${JSON.stringify(r, null, 2).replaceAll("\n", "\n  ")}`,
          )
          .join(""),
      );
    else if (this.format === "csv")
      await this.write(
        stringify([
          ...(first ? [this.names] : []),
          ...rows.map((r) => this.names.map((n) => cellText(r[n]))),
        ]),
      );
    else {
      const cells = rows.map((r) => this.names.map((n) => terminalSafe(cellText(r[n]))));
      if (!this.fitted)
        for (const c of cells)
          c.forEach((t, i) => {
            this.widths[i] = Math.max(this.widths[i] as number, t.length);
          });
      if (this.pending === undefined) await this.write(cells.map((c) => this.line(c)).join(""));
      else {
        this.pending.push(...cells);
        if (this.pending.length >= TABLE_WIDTH_ROWS) await this.flushTable();
      }
    }
  }

  private line(c: string[]): string {
    if (this.records !== undefined) return this.record(c);
    return `${c
      .map((t, i) => {
        const width = this.widths[i] as number;
        return this.fitted ? cut(t, width).padEnd(width) : t.padEnd(width);
      })
      .join("  ")
      .trimEnd()}\n`;
  }

  /** A row as a record: a line `-[ row N ]`, then `column | value` a line, values cut to the width. */
  private record(c: string[]): string {
    this.records = (this.records ?? 0) + 1;
    const names = this.names.map(terminalSafe);
    const nameWidth = Math.max(...names.map((n) => n.length));
    const width = Math.max((this.options.lineWidth ?? 0) - nameWidth - 3, MIN_FITTED_COLUMN);
    return `-[ row ${this.records} ]\n${names
      .map((n, i) => `${n.padEnd(nameWidth)} | ${cut(c[i] as string, width)}`.trimEnd())
      .join("\n")}\n`;
  }

  /** The header and the rows held for the widths. */
  private async flushTable(): Promise<void> {
    const held = this.pending ?? [];
    this.pending = undefined;
    const cap =
      this.options.lineWidth === undefined ? undefined : fittedCap(this.widths, this.options.lineWidth);
    // Fitted to a terminal: later rows are cut to these widths rather than widen them.
    this.fitted = this.options.lineWidth !== undefined;
    if (cap !== undefined) {
      this.widths.forEach((w, i) => {
        this.widths[i] = Math.min(w, Math.max(cap, MIN_FITTED_COLUMN));
      });
      // Too many columns to fit even cut: one record a row instead (as psql's `\x auto`).
      if (this.widths.reduce((sum, w) => sum + w + 2, -2) > (this.options.lineWidth as number)) {
        this.records = 0;
        await this.write(held.map((c) => this.record(c)).join(""));
        return;
      }
    }
    await this.write(
      this.line(this.names.map(terminalSafe)) +
        this.line(this.widths.map((w) => "-".repeat(w))) +
        held.map((c) => this.line(c)).join(""),
    );
  }

  async end(): Promise<void> {
    if (this.format === "json") await this.write(this.rows === 0 ? "[]\n" : "\n]\n");
    else if (this.format === "csv" && this.rows === 0) await this.write(stringify([this.names]));
    else if (this.format === "table" && this.pending !== undefined) await this.flushTable();
  }
}
