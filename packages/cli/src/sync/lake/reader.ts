/**
 * Read-only SQL over a lake: an in-memory DuckDB with the view `audit_log` over the files the state
 * file lists (never a glob, so a compaction or a commit in progress is invisible).
 *
 * Two layers keep a statement from writing or reading anything else:
 * 1. DuckDB's own sandbox ({@link openSandbox}), set up before any user SQL and then locked: external
 *    access off with exactly the listed Parquet files allowed (not the lake's folder: its state file
 *    and anything new stay out of reach), no temp folder (no spill files in the working directory),
 *    no extension install/load, no persistent secrets, bounded memory and threads.
 * 2. DuckDB's parser ({@link checkStatement}): one statement, a SELECT (or EXPLAIN [ANALYZE] of one),
 *    calling none of the table functions that change the session or bypass the sandbox's file
 *    checks. DuckDB's file access is one permission for read and write, so the listed files
 *    themselves could be overwritten by a COPY; only this layer keeps COPY, EXPORT and the like out.
 */
import "./duckdbAllocator.js";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBMaterializedResult,
  type DuckDBPreparedStatement,
  type DuckDBResult,
  StatementType,
} from "@duckdb/node-api";
import { SyncUsageError } from "../store.js";
import { locateFile, parquetProblem, readManifest, STATE_FILE } from "./manifest.js";
import { emptyTableSql, LAKE_COLUMNS, LAKE_SCHEMA_VERSION, sqlString, v1FileSelectSql } from "./schema.js";

/** DuckDB's bounds for one reader; unset, DuckDB's defaults (80% of RAM, one thread per core). */
export interface LakeReaderLimits {
  /** DuckDB's `memory_limit`, a size DuckDB reads (`1GB`, `512MB`). */
  memoryLimit?: string;
  threads?: number;
}

/** An open lake, ready for {@link LakeReader.query}. */
export interface LakeReader {
  /** Runs one read-only statement; throws {@link SyncUsageError} for a refused or bad one. */
  query(sql: string): Promise<DuckDBMaterializedResult>;
  /**
   * Runs one read-only statement as a streaming result: rows arrive chunk by chunk
   * (`fetchChunk()`), so memory does not grow with the number of rows. Throws as {@link query}.
   */
  stream(sql: string): Promise<DuckDBResult>;
  /** Stops the running statement: its pending call rejects with DuckDB's "Interrupted" error. */
  interrupt(): void;
  close(): void;
}

/**
 * Table functions a statement may call: generators, JSON and introspection. Everything else is
 * refused: file readers (the view reads the lake's files), dynamic SQL (`query`, which would hide
 * what it calls), and those that change the session from inside a SELECT (`enable_logging`,
 * `enable_profiling`, `checkpoint`, …: DuckDB runs them whatever lock_configuration says).
 */
const TABLE_FUNCTIONS = new Set([
  "range",
  "generate_series",
  "unnest",
  "repeat",
  "repeat_row",
  "json_each",
  "json_tree",
  "pg_timezone_names",
  "icu_calendar_names",
  "test_all_types",
  "histogram",
  "histogram_values",
]);
const INTROSPECTION =
  /^(duckdb_(columns|constraints|databases|dependencies|functions|keywords|schemas|settings|tables|types|views|memory|optimizers|variables)|pragma_(table_info|version|platform|database_size|show))$/;

/** Scalar functions that act outside the query (DuckDB's log). */
const SCALAR_FUNCTIONS_REFUSED = new Set(["write_log"]);

/**
 * DuckDB's session settings, applied when the instance is created (before the view and the user's
 * SQL). The external-access switches come after the view is created: its files are checked at
 * every read, against `allowed_paths`.
 */
function instanceConfig(limits: LakeReaderLimits): Record<string, string> {
  const config: Record<string, string> = {
    // No temp folder: a statement that outgrows memory_limit fails instead of spilling into
    // ./.tmp of the working directory (DuckDB's default for an in-memory database).
    temp_directory: "",
    max_temp_directory_size: "0B",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    allow_unsigned_extensions: "false",
    allow_persistent_secrets: "false",
  };
  if (limits.memoryLimit !== undefined) config.memory_limit = limits.memoryLimit;
  if (limits.threads !== undefined) config.threads = String(limits.threads);
  return config;
}

/**
 * An in-memory DuckDB with the view `audit_log` over `paths` (absolute), then sandboxed and locked:
 * the connection can read those files and nothing else, and no setting can change any more.
 */
export async function openSandbox(
  paths: readonly string[],
  limits: LakeReaderLimits = {},
  schemaVersion = LAKE_SCHEMA_VERSION,
): Promise<{ instance: DuckDBInstance; db: DuckDBConnection }> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(":memory:", instanceConfig(limits));
  } catch (error) {
    // DuckDB says only "Failed to set config": the one value it could refuse is the memory limit.
    throw new SyncUsageError({
      input: "memoryLimit",
      problem: `DuckDB refused "${limits.memoryLimit}" (${(error as Error).message}); use a size such as 512MB, 2GB`,
    });
  }
  const db: DuckDBConnection = await instance.connect();
  try {
    const columns = LAKE_COLUMNS.map(([name]) => `"${name}"`).join(", ");
    // The partition column comes from the file's folder, as Hive-aware engines read it.
    const date = `, CAST(regexp_extract(filename, 'date=([0-9-]+)', 1) AS DATE) AS "date"`;
    // A version 1 lake (not synced by this build yet) reads as the current columns.
    const select =
      paths.length === 0
        ? emptyTableSql()
        : schemaVersion < 2
          ? v1FileSelectSql(paths, date)
          : `SELECT ${columns}${date} FROM read_parquet([${paths.map(sqlString).join(", ")}], filename = true, hive_partitioning = false)`;
    await db.run(`CREATE VIEW audit_log AS ${select}`);
    await db.run(`SET allowed_paths = [${paths.map(sqlString).join(", ")}]`);
    await db.run("SET allowed_directories = []");
    await db.run("SET enable_external_access = false");
    await db.run("SET lock_configuration = true");
  } catch (error) {
    db.closeSync();
    instance.closeSync();
    throw error;
  }
  return { instance, db };
}

/** Every function name in a statement's parse tree (json_serialize_sql's JSON), lower-cased. */
function functionNames(node: unknown, found: { table: Set<string>; scalar: Set<string> }): void {
  if (Array.isArray(node)) {
    for (const child of node) functionNames(child, found);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const record = node as Record<string, unknown>;
  if (record.type === "TABLE_FUNCTION") {
    const fn = record.function as Record<string, unknown> | undefined;
    if (typeof fn?.function_name === "string") found.table.add(fn.function_name.toLowerCase());
    // Its arguments are expressions: walked below like any other.
  } else if (typeof record.function_name === "string") {
    found.scalar.add(record.function_name.toLowerCase());
  }
  for (const value of Object.values(record)) functionNames(value, found);
}

/**
 * The statement `sql`, prepared, if it is one read-only statement; else a {@link SyncUsageError}
 * saying why. The parsing is DuckDB's (extract_statements and json_serialize_sql's parse tree, which
 * only a SELECT has), never a pattern over the text, but for the EXPLAIN prefix. The tree is checked
 * BEFORE the statement is prepared: some table functions act when bound (enable_logging).
 */
export async function checkStatement(db: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  // DuckDB reads the text as a C string: past a NUL, its parser and this check would see nothing.
  if (sql.includes("\0"))
    throw new SyncUsageError({ input: "query", problem: "the SQL statement holds a NUL character" });
  let extracted: Awaited<ReturnType<DuckDBConnection["extractStatements"]>>;
  try {
    extracted = await db.extractStatements(sql);
  } catch (error) {
    throw new SyncUsageError({
      input: "query",
      problem: `${(error as Error).message.replace(/^Failed to extract statements: /, "")}`,
    });
  }
  if (extracted.count !== 1)
    throw new SyncUsageError({
      input: "query",
      problem: `give exactly one SQL statement (got ${extracted.count})`,
    });
  let expected = StatementType.SELECT;
  let tree = await selectTree(db, sql);
  if (tree === undefined) {
    // EXPLAIN ANALYZE runs what it explains: the explained statement must pass as well. It is found
    // by dropping the prefix; a form this does not read (options, comments first) is refused.
    const prefix = /^\s*explain\s+(?:analy[sz]e\s+)?/i.exec(sql);
    if (prefix !== null) {
      tree = await selectTree(db, sql.slice(prefix[0].length));
      expected = StatementType.EXPLAIN;
    }
    if (tree === undefined) {
      const word = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase();
      throw new SyncUsageError({
        input: "query",
        problem: `only read-only statements (SELECT, WITH, EXPLAIN [ANALYZE] SELECT) are allowed${word === undefined ? "" : `; this one is ${word}`}`,
      });
    }
  }
  const found = { table: new Set<string>(), scalar: new Set<string>() };
  functionNames(tree, found);
  for (const name of found.table)
    if (!TABLE_FUNCTIONS.has(name) && !INTROSPECTION.test(name))
      throw new SyncUsageError({
        input: "query",
        problem: `the table function ${name}() is not allowed (the lake is the view audit_log; allowed: ${[...TABLE_FUNCTIONS].join(", ")}, and DuckDB's catalog functions)`,
      });
  for (const name of found.scalar)
    if (SCALAR_FUNCTIONS_REFUSED.has(name))
      throw new SyncUsageError({ input: "query", problem: `the function ${name}() is not allowed` });
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await extracted.prepare(0);
  } catch (error) {
    throw new SyncUsageError({ input: "query", problem: `${(error as Error).message}` });
  }
  // The parser said SELECT (or EXPLAIN of one); the prepared statement must agree.
  if (prepared.statementType !== expected)
    throw new SyncUsageError({
      input: "query",
      problem: `only read-only statements (SELECT, WITH, EXPLAIN [ANALYZE] SELECT) are allowed; this one is ${StatementType[prepared.statementType]}`,
    });
  return prepared;
}

/** The parse tree of `sql` (json_serialize_sql), or undefined when it is not one SELECT statement. */
async function selectTree(db: DuckDBConnection, sql: string): Promise<unknown> {
  const reply = await db.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})::VARCHAR`);
  const tree = JSON.parse(String(reply.getRows()[0]?.[0])) as { error: boolean; statements?: unknown[] };
  return tree.error || tree.statements?.length !== 1 ? undefined : tree.statements;
}

/** Opens the lake in `dir` for queries (no lock: a running sync is not disturbed). */
export async function openLakeReader(dir: string, limits: LakeReaderLimits = {}): Promise<LakeReader> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (info === undefined) throw new SyncUsageError({ input: "lake", problem: `${dir} does not exist` });
  if (!info.isDirectory()) throw new SyncUsageError({ input: "lake", problem: `${dir} is not a directory` });
  const manifest = await readManifest(root);
  if (manifest === undefined)
    throw new SyncUsageError({
      input: "lake",
      problem: `${dir} has no ${STATE_FILE}; it is not a lake written by clarifai-audit sync`,
    });
  // Checked 32 at a time rather than one round trip after another (a lake holds hundreds of files).
  const checked: Array<{ at: string; problem: string | undefined }> = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < manifest.files.length; i = next++) {
      const file = manifest.files[i] as (typeof manifest.files)[number];
      const at = await locateFile(root, file, manifest.pending);
      checked[i] = { at, problem: await parquetProblem(at, file.bytes) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, manifest.files.length) }, worker));
  const bad = checked.find((c) => c.problem !== undefined);
  if (bad !== undefined)
    throw new SyncUsageError(`${bad.at} is not a valid Parquet file of this lake (${bad.problem})`);
  const { instance, db } = await openSandbox(
    checked.map((c) => c.at),
    limits,
    manifest.schemaVersion,
  );
  return {
    async query(sql: string): Promise<DuckDBMaterializedResult> {
      const prepared = await checkStatement(db, sql);
      try {
        return await prepared.run();
      } catch (error) {
        throw new SyncUsageError({ input: "query", problem: `${(error as Error).message}` });
      }
    },
    async stream(sql: string): Promise<DuckDBResult> {
      const prepared = await checkStatement(db, sql);
      try {
        return await prepared.stream();
      } catch (error) {
        throw new SyncUsageError({ input: "query", problem: `${(error as Error).message}` });
      }
    },
    interrupt() {
      db.interrupt();
    },
    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}
