/**
 * `clarifai-audit query --lake DIR "SQL"`: read-only SQL over a lake's `audit_log` view with an
 * embedded DuckDB (src/sync/lake/reader.ts), printed as a table, CSV, one JSON array or JSON Lines.
 */
import { once } from "node:events";
import type { DuckDBMaterializedResult } from "@duckdb/node-api";
import { stringify } from "csv-stringify/sync";
import { openLakeReader } from "../sync/lake/reader.js";
import { SyncUsageError } from "../sync/store.js";

/** The flags of `query`, as commander parses them. */
export interface QueryFlags {
  lake: string;
  format?: string;
}

const FORMATS = ["table", "csv", "json", "jsonl"] as const;
type QueryFormat = (typeof FORMATS)[number];

type Row = Record<string, unknown>;

/**
 * Rows as plain JSON values. DuckDB's JSON conversion prints 64-bit integers as strings (they may not
 * fit a double); those that fit exactly become numbers, so `count(*)` reads as a number.
 */
async function jsonRows(result: DuckDBMaterializedResult): Promise<Row[]> {
  const names = result.columnNames();
  const integer = result.columnTypes().map((t) => /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT)$/.test(t.toString()));
  return (await result.getRowsJson()).map((values) => {
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
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function table(names: string[], rows: Row[]): string {
  const cells = rows.map((r) => names.map((n) => cellText(r[n])));
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) =>
    c
      .map((t, i) => t.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return `${[line(names), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")}\n`;
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, "drain");
}

/**
 * A usage error (exit 2). The error reporting loads the client, which `query` never needs, so it is
 * imported only on this path.
 */
async function usage(message: string): Promise<Error> {
  const { UsageError } = await import("./exitCodes.js");
  return new UsageError(message);
}

/** Runs `query` (defined in src/cli/commands.ts). */
export async function runQueryCommand(sql: string, flags: QueryFlags): Promise<void> {
  const format = (flags.format ?? (process.stdout.isTTY ? "table" : "jsonl")) as QueryFormat;
  if (!FORMATS.includes(format))
    throw await usage(`--format: "${flags.format}" is not one of ${FORMATS.join(", ")}`);
  if (sql.trim() === "") throw await usage("query: the SQL statement is empty");
  let reader: Awaited<ReturnType<typeof openLakeReader>>;
  let rows: Row[];
  let names: string[];
  try {
    reader = await openLakeReader(flags.lake);
  } catch (error) {
    if (error instanceof SyncUsageError) throw await usage(error.message);
    throw error;
  }
  try {
    const result = await reader.query(sql);
    names = result.columnNames();
    rows = await jsonRows(result);
  } catch (error) {
    if (error instanceof SyncUsageError) throw await usage(error.message);
    throw error;
  } finally {
    reader.close();
  }
  if (format === "json") await write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (format === "jsonl") {
    for (let i = 0; i < rows.length; i += 1000)
      await write(
        rows
          .slice(i, i + 1000)
          .map((r) => `${JSON.stringify(r)}\n`)
          .join(""),
      );
  } else if (format === "csv")
    await write(stringify([names, ...rows.map((r) => names.map((n) => cellText(r[n])))]));
  else await write(table(names, rows));
}
