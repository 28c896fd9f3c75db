/**
 * The lake's table: the columns other engines read (the contract, documented in docs/design/lake-format.md), how an
 * entry becomes a row, and the SQL that turns staged rows into one zstd Parquet file. Changing a
 * column needs a new {@link LAKE_SCHEMA_VERSION} and a migration: older tools refuse a newer lake.
 */

import { OPERATIONS, operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import { civilFromDays, formatTimestampExact } from "@clarifai-audit/client/internal/domain/time.js";
import { fitsInt64, nsToTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";

/**
 * Version of the table's columns; written into every file's key-value metadata and the state file.
 * 2 added `timestamp_text` (version 1 could not store an entry outside BIGINT nanoseconds' years,
 * 1677-2262): a sync migrates a version 1 lake when it opens it ({@link v1FileSelectSql}).
 */
export const LAKE_SCHEMA_VERSION = 2;

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
  ["timestamp_text", "VARCHAR"],
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
 * The staging table a commit's rows cross into DuckDB through: a few long strings per commit (up to
 * {@link STAGE_GROUP} JSON lines joined by newlines, and their timestamps: microseconds, nanoseconds
 * (empty outside BIGINT) and exact text, each a comma-separated list), not a value per column
 * and row. Every other column is derived from the line inside DuckDB ({@link copyStageSql}), so the
 * JSON parsing and the column building run on DuckDB's thread while the walk goes on.
 */
export const STAGE_TABLE = "lake_stage";
export const STAGE_DDL = `CREATE OR REPLACE TEMP TABLE ${STAGE_TABLE} (us VARCHAR, ns VARCHAR, texts VARCHAR, lines BLOB)`;

/** Entries per staged row. */
export const STAGE_GROUP = 1024;

/** The part of an entry's REST JSON the columns are read from, as a `from_json` structure. */
const ENTRY_SHAPE = JSON.stringify({
  operation: "INTEGER",
  user: { id: "VARCHAR" },
  description: "VARCHAR",
  // A target is an object with one key, the kind, whose value carries the ids.
  targets: [
    `MAP(VARCHAR, STRUCT(${TARGET_FIELDS.slice(1)
      .map((f) => `${f} VARCHAR`)
      .join(", ")}, compute_cluster STRUCT(id VARCHAR)))`,
  ],
  details: ["VARCHAR"],
  success: "BOOLEAN",
  req_id: "VARCHAR",
  source_ip: "VARCHAR",
});

/** SQL literal of a string. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Rows per Parquet row group. The writer holds a row group in memory until it is full; DuckDB's
 * default (122 880) held a whole commit's rows. 8192 cost 5% in size (bench/notes.md).
 */
export const ROW_GROUP_ROWS = 8192;

/** The COPY options of every lake file (zstd, row groups of {@link ROW_GROUP_ROWS}, schema version in the footer). */
export function parquetOptions(): string {
  return `FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS}, KV_METADATA {${SCHEMA_METADATA_KEY}: '${LAKE_SCHEMA_VERSION}'}`;
}

/** Names of the operation codes this build knows, as a SQL map (others print as digits). */
function operationNamesSql(): string {
  const codes = [0, ...new Set(OPERATIONS.values())];
  return `MAP {${codes.map((c) => `${c}: ${sqlString(operationName(c))}`).join(", ")}}`;
}

/**
 * The staged rows as the table's columns, in the order they were appended. An absent field reads as
 * proto3's default: 0, '', false, an empty list; a target's kind is its one key.
 */
export function stageSelectSql(): string {
  const v = "map_values(t)[1]";
  const target = [
    "kind: map_keys(t)[1]",
    `id: coalesce(${v}.id, '')`,
    ...TARGET_FIELDS.slice(2, -1).map((f) => `${f}: ${v}.${f}`),
    `compute_cluster_id: coalesce(${v}.compute_cluster.id, ${v}.compute_cluster_id)`,
  ].join(", ");
  return `SELECT make_timestamptz(us) AS "timestamp", timestamp_ns, timestamp_text, operation,
  coalesce(${operationNamesSql()}[operation], CAST(operation AS VARCHAR)) AS operation_name,
  coalesce(j.user.id, '') AS user_id, coalesce(j.description, '') AS description,
  list_transform(list_filter(coalesce(j.targets, []), t -> cardinality(t) > 0), t -> {${target}}) AS targets,
  coalesce(j.details, []) AS details, coalesce(j.success, false) AS success,
  coalesce(j.req_id, '') AS req_id, coalesce(j.source_ip, '') AS source_ip, entry
  FROM (SELECT us, timestamp_ns, timestamp_text, entry, j, coalesce(j.operation, 0) AS operation
    FROM (SELECT us, timestamp_ns, timestamp_text, entry, from_json(entry, ${sqlString(ENTRY_SHAPE)}) AS j
      FROM (SELECT CAST(unnest(string_split(us, ',')) AS BIGINT) AS us,
        CAST(nullif(unnest(string_split(ns, ',')), '') AS BIGINT) AS timestamp_ns,
        unnest(string_split(texts, ',')) AS timestamp_text,
        unnest(string_split(decode(lines), chr(10))) AS entry FROM ${STAGE_TABLE})))`;
}

/** COPY of the staged rows ({@link stageSelectSql}) to the Parquet file `path`. */
export function copyStageSql(path: string): string {
  return `COPY (${stageSelectSql()}) TO ${sqlString(path)} (${parquetOptions()})`;
}

/**
 * The rows of version 1 files (no `timestamp_text`) as the table's columns: a version 1 lake holds
 * only entries whose nanoseconds fit BIGINT, so `timestamp_ns` is never NULL there and gives the
 * exact text; `timestamp` is computed again, floored (version 1 truncated toward zero, which put an
 * entry before 1970 with a fraction of a microsecond one microsecond late). What a sync rewrites a
 * version 1 lake's files with, and what `query` reads from one not migrated yet.
 */
export function v1FileSelectSql(paths: readonly string[], extra = ""): string {
  const ns = "CAST(timestamp_ns AS HUGEINT)";
  const nanos = `((${ns} % 1000000000 + 1000000000) % 1000000000)`;
  const seconds = `CAST((${ns} - ${nanos}) // 1000000000 AS BIGINT)`;
  const us = `CAST((${ns} - (${ns} % 1000 + 1000) % 1000) // 1000 AS BIGINT)`;
  const text = `strftime(make_timestamp(${seconds} * 1000000), '%Y-%m-%dT%H:%M:%S') || '.' || lpad(CAST(${nanos} AS VARCHAR), 9, '0') || 'Z'`;
  const rest = LAKE_COLUMNS.slice(3)
    .map(([name]) => `"${name}"`)
    .join(", ");
  return `SELECT make_timestamptz(${us}) AS "timestamp", timestamp_ns, ${text} AS timestamp_text, ${rest}${extra}
    FROM read_parquet([${paths.map(sqlString).join(", ")}]${extra === "" ? "" : ", filename = true"}, hive_partitioning = false)`;
}

/** An empty relation with the table's columns (the view of a lake without files). */
export function emptyTableSql(): string {
  return `SELECT ${LAKE_COLUMNS.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`).join(", ")}, CAST(NULL AS DATE) AS "date" WHERE false`;
}

const NS_PER_DAY = 86_400n * 1_000_000_000n;

/**
 * {@link partitionDate}, remembering the last day's bounds: a commit's entries mostly fall on one
 * day, so most calls compare two numbers instead of formatting a date.
 */
export function partitionDates(): (ns: bigint) => string {
  let from = 0n;
  let to = 0n;
  let date = "";
  return (ns) => {
    if (ns >= from && ns < to) return date;
    date = partitionDate(ns);
    let days = ns / NS_PER_DAY;
    if (ns < 0n && ns % NS_PER_DAY !== 0n) days -= 1n;
    from = days * NS_PER_DAY;
    to = from + NS_PER_DAY;
    return date;
  };
}

/** UTC date (YYYY-MM-DD) of a nanosecond instant: the Hive partition an entry goes to. */
export function partitionDate(ns: bigint): string {
  let days = ns / NS_PER_DAY;
  if (ns < 0n && ns % NS_PER_DAY !== 0n) days -= 1n;
  const [y, m, d] = civilFromDays(Number(days));
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** Microseconds since the epoch, floored: what `timestamp` (µs) holds of an instant. */
function floorUs(ns: bigint): bigint {
  const us = ns / 1000n;
  return ns < 0n && ns % 1000n !== 0n ? us - 1n : us;
}

/** A file's rows as they are staged: lines of a commit's JSONL buffer, and their timestamps. */
export interface StagedRows {
  /** The commit's JSON lines, each followed by "\n". */
  jsonl: Buffer;
  /** Where each line of `jsonl` ends, before its newline. */
  ends: readonly number[];
  /** Which lines are this file's rows, in file order. */
  lines: number[];
  /** Their exact timestamps (ns since the epoch). */
  ns: bigint[];
}

const NEWLINE = Buffer.from("\n");

/**
 * Appends `rows` to the staging table's appender, {@link STAGE_GROUP} lines to a staged row (a
 * consecutive run of lines is one slice of the buffer, not a copy). A JSON line never holds a raw
 * newline (JSON escapes control characters), so the lines split back apart exactly; the COPY's row
 * count checks it.
 */
export function appendStaged(appender: DuckDBAppender, rows: StagedRows): void {
  const { jsonl, ends, lines } = rows;
  const startOf = (line: number) => (line === 0 ? 0 : (ends[line - 1] as number) + 1);
  for (let i = 0; i < lines.length; i += STAGE_GROUP) {
    const group = lines.slice(i, i + STAGE_GROUP);
    const first = group[0] as number;
    const last = group[group.length - 1] as number;
    let blob: Buffer;
    if (last - first === group.length - 1) blob = jsonl.subarray(startOf(first), ends[last]);
    else {
      const parts: Buffer[] = [];
      for (const line of group) {
        if (parts.length > 0) parts.push(NEWLINE);
        parts.push(jsonl.subarray(startOf(line), ends[line]));
      }
      blob = Buffer.concat(parts);
    }
    const ns = rows.ns.slice(i, i + STAGE_GROUP);
    appender.appendVarchar(ns.map(floorUs).join(","));
    appender.appendVarchar(ns.map((n) => (fitsInt64(n) ? n.toString() : "")).join(","));
    appender.appendVarchar(ns.map((n) => formatTimestampExact(nsToTs(n))).join(","));
    appender.appendBlob(blob);
    appender.endRow();
  }
}

/** Creates (or empties) the staging table on `connection`. */
export async function resetStage(connection: DuckDBConnection): Promise<void> {
  await connection.run(STAGE_DDL);
}
