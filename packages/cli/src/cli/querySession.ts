/**
 * The sandboxed lake session of `query` (packages/cli/src/cli/queryCommand.ts): one lake opened with an
 * embedded, sandboxed DuckDB (packages/cli/src/sync/lake/reader.ts), statements run one after another
 * with the flags' limits and printed as a table, CSV, one JSON array or JSON Lines
 * (packages/cli/src/cli/queryPrinter.ts). Rows stream from DuckDB chunk by chunk: memory holds one chunk
 * (and, for `table`, the first TABLE_WIDTH_ROWS rows), whatever the number of rows. Apart from the
 * command so that the shell (packages/cli/src/cli/queryShell.ts) and the command both use it without
 * importing each other.
 */
import { type DuckDBResult, JsonDuckDBValueConverter } from "@duckdb/node-api";
import { type LakeReader, openLakeReader } from "../sync/lake/reader.js";
import { SyncUsageError } from "../sync/store.js";
import type { CliOutput } from "./cliIo.js";
import { formatDurationMs } from "./duration.js";
import { FORMATS, Printer, type PrinterOptions, type QueryFormat, type Row } from "./queryPrinter.js";

/** The flags of `query`, as commander parses them. */
export interface QueryFlags {
  lake: string;
  format?: string;
  /** Milliseconds DuckDB may work on each statement; 0: no limit. */
  maxTime: number;
  /** DuckDB's memory_limit (`1GB`). */
  maxMemory: string;
  threads: number;
  json?: boolean;
  /** The shell's history file is read and written (`--no-history`: false). */
  history?: boolean;
}

/** The message of a statement stopped by {@link LakeSession.interrupt} (Ctrl-C in the shell). */
const INTERRUPTED = "query: interrupted";

/**
 * Time DuckDB spends on the statement, across the calls that wait for it (waiting for a slow reader
 * of stdout does not count): once `maxMs` is spent, or on {@link cancel}, the connection is interrupted.
 */
class Budget {
  private spent = 0;
  private running = false;
  expired = false;
  cancelled = false;
  constructor(
    private readonly maxMs: number,
    private readonly reader: LakeReader,
  ) {}

  /** Stops the statement: DuckDB's call in progress, or the next one. */
  cancel(): void {
    this.cancelled = true;
    if (this.running) this.reader.interrupt();
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.cancelled) throw new SyncUsageError(INTERRUPTED);
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
    this.running = true;
    try {
      return await work();
    } catch (error) {
      // DuckDB's error about the statement (bad SQL, a failed cast, a limit): one line, exit 2.
      if (error instanceof SyncUsageError) throw error;
      throw new SyncUsageError(`query: ${(error as Error).message}`);
    } finally {
      this.running = false;
      clearTimeout(timer);
      this.spent += performance.now() - started;
    }
  }
}

/**
 * A usage error (exit 2). The error reporting loads the client, which `query` never needs, so it is
 * imported only on this path.
 */
export async function usage(message: string): Promise<Error> {
  const { UsageError } = await import("./exitCodes.js");
  return new UsageError(message);
}

/** The one line for DuckDB's error `message`, naming the flag when a limit stopped the statement. */
function failure(message: string, flags: QueryFlags, budget: Budget): string {
  if (budget.cancelled) return INTERRUPTED;
  if (budget.expired)
    return `query: stopped after --max-time ${formatDurationMs(flags.maxTime)} (raise --max-time, or 0 for no limit)`;
  if (/Out of Memory Error/.test(message))
    // DuckDB's further lines advise settings the sandbox locks (SET temp_directory, SET memory_limit).
    return `${message.split("\n")[0]} (--max-memory ${flags.maxMemory}; raise it, or have the statement hold less)`;
  return message;
}

/** The format `--format` names (validated), else table on a terminal and jsonl elsewhere. */
export async function queryFormat(flags: QueryFlags, out: CliOutput): Promise<QueryFormat> {
  const format = (flags.format ?? (out.isTTY ? "table" : "jsonl")) as QueryFormat;
  if (!FORMATS.includes(format))
    throw await usage(`--format: "${flags.format}" is not one of ${FORMATS.join(", ")}`);
  return format;
}

/**
 * One lake open in the sandbox, for statements run one after another, each with the flags' limits
 * (--max-time counts per statement; --max-memory and --threads hold for the connection).
 */
export class LakeSession {
  private current: Budget | undefined;

  private constructor(
    private readonly reader: LakeReader,
    private readonly flags: QueryFlags,
  ) {}

  /** Opens `flags.lake`; a lake that cannot be read is a usage error. */
  static async open(flags: QueryFlags): Promise<LakeSession> {
    try {
      return new LakeSession(
        await openLakeReader(flags.lake, { memoryLimit: flags.maxMemory, threads: flags.threads }),
        flags,
      );
    } catch (error) {
      if (error instanceof SyncUsageError) throw await usage(error.message);
      throw error;
    }
  }

  /**
   * Runs `sql` (one read-only statement, else refused) and prints its rows on `out` as `format`;
   * resolves with the number of rows. A refused or failed statement throws a usage error with its one line.
   */
  async run(sql: string, out: CliOutput, format: QueryFormat, options: PrinterOptions = {}): Promise<number> {
    const budget = new Budget(this.flags.maxTime, this.reader);
    this.current = budget;
    try {
      const result: DuckDBResult = await budget.run(() => this.reader.stream(sql));
      const names = result.columnNames();
      // DuckDB's JSON conversion prints 64-bit integers as strings (they may not fit a double); those
      // that fit exactly become numbers, so `count(*)` reads as a number.
      const integer = result
        .columnTypes()
        .map((t) => /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT)$/.test(t.toString()));
      const printer = new Printer(out, format, names, options);
      for (;;) {
        const chunk = await budget.run(() => result.fetchChunk());
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
      return printer.count;
    } catch (error) {
      if (error instanceof SyncUsageError) throw await usage(failure(error.message, this.flags, budget));
      // A single value longer than V8's strings (~512M characters): DuckDB held it, JavaScript cannot.
      if (error instanceof RangeError && /string longer|Invalid string length/.test(error.message))
        throw await usage(
          "query: a value of the result is too long to print (over 512M characters); select less of it, e.g. left(column, 1000)",
        );
      throw error;
    } finally {
      this.current = undefined;
    }
  }

  /** The first column of `sql`'s rows, as text (checked as any statement; no limit, nothing printed). */
  async firstColumn(sql: string): Promise<string[]> {
    const result = await this.reader.query(sql);
    return (await result.getRows()).map((row) => String(row[0]));
  }

  /** Stops the statement running now, if any: it fails with "query: interrupted". */
  interrupt(): void {
    this.current?.cancel();
  }

  close(): void {
    this.reader.close();
  }
}
