/**
 * `clarifai-audit query --lake DIR "SQL"`: read-only SQL over a lake's `audit_log` view with an
 * embedded, sandboxed DuckDB (packages/cli/src/sync/lake/reader.ts), printed as a table, CSV, one JSON array or
 * JSON Lines. Rows stream from DuckDB chunk by chunk: memory holds one chunk (and, for `table`, the
 * first {@link TABLE_WIDTH_ROWS} rows), whatever the number of rows.
 */
import { once } from "node:events";
import {
  terminalSafe,
  terminalSafeJson,
  terminalSafeLines,
} from "@clarifai-audit/client/internal/domain/terminalText.js";
import { type DuckDBResult, JsonDuckDBValueConverter } from "@duckdb/node-api";
import { stringify } from "csv-stringify/sync";
import { type LakeReader, openLakeReader } from "../sync/lake/reader.js";
import { SyncUsageError } from "../sync/store.js";
import type { CliOutput } from "./cliIo.js";
import { formatDurationMs } from "./duration.js";
import type { CommandContext, CommandResult } from "./runner.js";
import { FORMATS as OUTPUT_FORMATS } from "./vocabulary.js";

/** The flags of `query`, as commander parses them. */
export interface QueryFlags {
  lake: string;
  format?: string;
  /** Milliseconds DuckDB may work on the statement; 0: no limit. */
  maxTime: number;
  /** DuckDB's memory_limit (`1GB`). */
  maxMemory: string;
  threads: number;
  json?: boolean;
}

const FORMATS = OUTPUT_FORMATS.entries;
type QueryFormat = (typeof FORMATS)[number];

/**
 * Rows a table is measured on before its first line is printed (one DuckDB chunk); later rows widen
 * their columns as they come, so a long value further down shifts only its own lines.
 */
export const TABLE_WIDTH_ROWS = 2048;

type Row = Record<string, unknown>;

/**
 * Time DuckDB spends on the statement, across the calls that wait for it (waiting for a slow reader
 * of stdout does not count): once `maxMs` is spent, the connection is interrupted.
 */
class Budget {
  private spent = 0;
  expired = false;
  constructor(
    private readonly maxMs: number,
    private readonly reader: LakeReader,
  ) {}

  async run<T>(work: Promise<T>): Promise<T> {
    const started = performance.now();
    const timer =
      this.maxMs === 0
        ? undefined
        : setTimeout(
            () => {
              this.expired = true;
              this.reader.interrupt();
            },
            Math.max(0, this.maxMs - this.spent),
          );
    try {
      return await work;
    } catch (error) {
      // DuckDB's error about the statement (bad SQL, a failed cast, a limit): one line, exit 2.
      if (error instanceof SyncUsageError) throw error;
      throw new SyncUsageError(`query: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.spent += performance.now() - started;
    }
  }
}

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

/** Prints rows as they come, in one format. */
class Printer {
  private rows = 0;
  private readonly widths: number[];
  /** The table's first rows, held until its widths are known; undefined once printed. */
  private pending: string[][] | undefined = [];
  private readonly safe: (text: string) => string;

  constructor(
    private readonly out: CliOutput,
    private readonly format: QueryFormat,
    private readonly names: string[],
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
    return `${c
      .map((t, i) => t.padEnd(this.widths[i] as number))
      .join("  ")
      .trimEnd()}\n`;
  }

  /** The header and the rows held for the widths. */
  private async flushTable(): Promise<void> {
    const held = this.pending ?? [];
    this.pending = undefined;
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

/**
 * A usage error (exit 2). The error reporting loads the client, which `query` never needs, so it is
 * imported only on this path.
 */
async function usage(message: string): Promise<Error> {
  const { UsageError } = await import("./exitCodes.js");
  return new UsageError(message);
}

/** The one line for DuckDB's error `message`, naming the flag when a limit stopped the statement. */
function failure(message: string, flags: QueryFlags, budget: Budget): string {
  if (budget.expired)
    return `query: stopped after --max-time ${formatDurationMs(flags.maxTime)} (raise --max-time, or 0 for no limit)`;
  if (/Out of Memory Error/.test(message))
    // DuckDB's further lines advise settings the sandbox locks (SET temp_directory, SET memory_limit).
    return `${message.split("\n")[0]} (--max-memory ${flags.maxMemory}; raise it, or have the statement hold less)`;
  return message;
}

/** Runs `query` (defined in packages/cli/src/cli/commands/query.ts). */
export async function runQueryCommand(
  ctx: CommandContext,
  sql: string,
  flags: QueryFlags,
): Promise<CommandResult> {
  const format = (flags.format ?? (ctx.io.stdout.isTTY ? "table" : "jsonl")) as QueryFormat;
  if (!FORMATS.includes(format))
    throw await usage(`--format: "${flags.format}" is not one of ${FORMATS.join(", ")}`);
  if (sql.trim() === "") throw await usage("query: the SQL statement is empty");
  let reader: LakeReader;
  try {
    reader = await openLakeReader(flags.lake, { memoryLimit: flags.maxMemory, threads: flags.threads });
  } catch (error) {
    if (error instanceof SyncUsageError) throw await usage(error.message);
    throw error;
  }
  const budget = new Budget(flags.maxTime, reader);
  const started = performance.now();
  try {
    const result: DuckDBResult = await budget.run(reader.stream(sql));
    const names = result.columnNames();
    // DuckDB's JSON conversion prints 64-bit integers as strings (they may not fit a double); those
    // that fit exactly become numbers, so `count(*)` reads as a number.
    const integer = result.columnTypes().map((t) => /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT)$/.test(t.toString()));
    const printer = new Printer(ctx.io.stdout, format, names);
    for (;;) {
      const chunk = await budget.run(result.fetchChunk());
      if (chunk === null || chunk.rowCount === 0) break;
      const rows = chunk.convertRows(JsonDuckDBValueConverter).map((values) => {
        const row: Row = {};
        values.forEach((v, i) => {
          let value: unknown = v;
          if (integer[i] && typeof v === "string") {
            const n = Number(v);
            if (Number.isSafeInteger(n)) value = n;
          }
          row[names[i] as string] = value;
        });
        return row;
      });
      await printer.add(rows);
    }
    await printer.end();
    if (ctx.verbose)
      ctx.say(
        `clarifai-audit: statement: ${printer.count} ${printer.count === 1 ? "row" : "rows"} in ${Math.round(performance.now() - started)} ms`,
      );
    return { figures: { rows: printer.count } };
  } catch (error) {
    if (error instanceof SyncUsageError) throw await usage(failure(error.message, flags, budget));
    // A single value longer than V8's strings (~512M characters): DuckDB held it, JavaScript cannot.
    if (error instanceof RangeError && /string longer|Invalid string length/.test(error.message))
      throw await usage(
        "query: a value of the result is too long to print (over 512M characters); select less of it, e.g. left(column, 1000)",
      );
    throw error;
  } finally {
    reader.close();
  }
}
