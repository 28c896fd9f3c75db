/**
 * The lake's table: the columns other engines read (the contract, documented in the README (lake)), how an
 * entry becomes a row, and the SQL that turns staged rows into one zstd Parquet file. Changing a
 * column needs a new {@link LAKE_SCHEMA_VERSION} and a migration: older tools refuse a newer lake.
 */
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { civilFromDays } from "../../domain/time.js";
import type { ExportEntry } from "../../export/sink.js";

/** Version of the table's columns; written into every file's key-value metadata and the state file. */
export const LAKE_SCHEMA_VERSION = 1;

/** The Parquet key-value metadata key that carries {@link LAKE_SCHEMA_VERSION}. */
export const SCHEMA_METADATA_KEY = "clarifai_audit_schema_version";

/** The fields of one `targets` element: the kind (REST JSON's snake_case name) and the ids it carries. */
export const TARGET_FIELDS = [
  "kind",
  "id",
  "app_id",
  "user_id",
  "module_id",
  "workflow_id",
  "compute_cluster_id",
] as const;

/** The table's columns, in order, with their DuckDB types. */
export const LAKE_COLUMNS: ReadonlyArray<readonly [name: string, type: string]> = [
  ["timestamp", "TIMESTAMP WITH TIME ZONE"],
  ["timestamp_ns", "BIGINT"],
  ["operation", "INTEGER"],
  ["operation_name", "VARCHAR"],
  ["user_id", "VARCHAR"],
  ["description", "VARCHAR"],
  ["targets", `STRUCT(${TARGET_FIELDS.map((f) => `${f} VARCHAR`).join(", ")})[]`],
  ["details", "VARCHAR[]"],
  ["success", "BOOLEAN"],
  ["req_id", "VARCHAR"],
  ["source_ip", "VARCHAR"],
  ["entry", "VARCHAR"],
];

/**
 * The staging table rows are appended to. Nested columns arrive as JSON text: one string per row
 * crosses into DuckDB instead of a JS object per list element, which costs several times more.
 */
export const STAGE_TABLE = "lake_stage";
export const STAGE_DDL = `CREATE OR REPLACE TEMP TABLE ${STAGE_TABLE} (
  timestamp_ns BIGINT, operation INTEGER, operation_name VARCHAR, user_id VARCHAR, description VARCHAR,
  targets_json VARCHAR, details_json VARCHAR, success BOOLEAN, req_id VARCHAR, source_ip VARCHAR, entry VARCHAR)`;

const TARGETS_JSON_SHAPE = `[{${TARGET_FIELDS.map((f) => `"${f}":"VARCHAR"`).join(",")}}]`;

/** SQL literal of a string. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The COPY options of every lake file (zstd, schema version in the footer). */
export function parquetOptions(): string {
  return `FORMAT parquet, COMPRESSION zstd, KV_METADATA {${SCHEMA_METADATA_KEY}: '${LAKE_SCHEMA_VERSION}'}`;
}

/** COPY of the staged rows, in the order they were appended, to the Parquet file `path`. */
export function copyStageSql(path: string): string {
  return `COPY (SELECT make_timestamptz(timestamp_ns // 1000) AS "timestamp", timestamp_ns, operation,
  operation_name, user_id, description, from_json(targets_json, '${TARGETS_JSON_SHAPE}') AS targets,
  from_json(details_json, '["VARCHAR"]') AS details, success, req_id, source_ip, entry
  FROM ${STAGE_TABLE}) TO ${sqlString(path)} (${parquetOptions()})`;
}

/** An empty relation with the table's columns (the view of a lake without files). */
export function emptyTableSql(): string {
  return `SELECT ${LAKE_COLUMNS.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`).join(", ")}, CAST(NULL AS DATE) AS "date" WHERE false`;
}

type Json = Record<string, unknown>;

const NS_PER_DAY = 86_400n * 1_000_000_000n;

/** UTC date (YYYY-MM-DD) of a nanosecond instant: the Hive partition an entry goes to. */
export function partitionDate(ns: bigint): string {
  let days = ns / NS_PER_DAY;
  if (ns < 0n && ns % NS_PER_DAY !== 0n) days -= 1n;
  const [y, m, d] = civilFromDays(Number(days));
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The `targets` elements of a REST JSON entry: kind and the ids of the one field each target sets. */
function flatTargets(targets: unknown): Json[] {
  if (!Array.isArray(targets)) return [];
  const out: Json[] = [];
  for (const target of targets as Json[]) {
    for (const kind in target) {
      const v = (target[kind] ?? {}) as Json;
      const cc = v.compute_cluster as Json | undefined;
      out.push({
        kind,
        id: str(v.id),
        app_id: v.app_id ?? null,
        user_id: v.user_id ?? null,
        module_id: v.module_id ?? null,
        workflow_id: v.workflow_id ?? null,
        compute_cluster_id: cc?.id ?? v.compute_cluster_id ?? null,
      });
      break;
    }
  }
  return out;
}

/** Appends one entry to the staging table's appender; `ns` is its exact timestamp. */
export function appendEntry(
  appender: DuckDBAppender,
  entry: ExportEntry,
  ns: bigint,
  operationName: (code: number) => string,
): void {
  const line = entry.json();
  const o = JSON.parse(line) as Json;
  const operation = typeof o.operation === "number" ? o.operation : 0;
  appender.appendBigInt(ns);
  appender.appendInteger(operation);
  appender.appendVarchar(operationName(operation));
  appender.appendVarchar(str((o.user as Json | undefined)?.id));
  appender.appendVarchar(str(o.description));
  appender.appendVarchar(JSON.stringify(flatTargets(o.targets)));
  appender.appendVarchar(JSON.stringify(Array.isArray(o.details) ? o.details : []));
  appender.appendBoolean(o.success === true);
  appender.appendVarchar(str(o.req_id));
  appender.appendVarchar(str(o.source_ip));
  appender.appendVarchar(line);
  appender.endRow();
}

/** Creates (or empties) the staging table on `connection`. */
export async function resetStage(connection: DuckDBConnection): Promise<void> {
  await connection.run(STAGE_DDL);
}
