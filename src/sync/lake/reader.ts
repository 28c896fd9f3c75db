/**
 * Read-only SQL over a lake: an in-memory DuckDB with the view `audit_log` over the files the state
 * file lists (never a glob, so a compaction or a commit in progress is invisible), with file access
 * limited to the lake's folder and every statement but a query refused.
 */
import "./duckdbAllocator.js";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
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
import { emptyTableSql, LAKE_COLUMNS, sqlString, v1FileSelectSql } from "./schema.js";

/** An open lake, ready for {@link LakeReader.query}. */
export interface LakeReader {
  /** Runs one read-only statement; throws {@link SyncUsageError} for a refused or bad one. */
  query(sql: string): Promise<DuckDBMaterializedResult>;
  /**
   * Runs one read-only statement as a streaming result: rows arrive chunk by chunk
   * (`fetchChunk()`), so memory does not grow with the number of rows. Throws as {@link query}.
   */
  stream(sql: string): Promise<DuckDBResult>;
  close(): void;
}

const READ_ONLY = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

/** Opens the lake in `dir` for queries (no lock: a running sync is not disturbed). */
export async function openLakeReader(dir: string): Promise<LakeReader> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (info === undefined) throw new SyncUsageError(`--lake: ${dir} does not exist`);
  if (!info.isDirectory()) throw new SyncUsageError(`--lake: ${dir} is not a directory`);
  const manifest = await readManifest(root);
  if (manifest === undefined)
    throw new SyncUsageError(
      `--lake: ${dir} has no ${STATE_FILE}; it is not a lake written by clarifai-audit sync`,
    );
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
  const paths = checked.map((c) => c.at);
  const instance = await DuckDBInstance.create(":memory:");
  const db: DuckDBConnection = await instance.connect();
  try {
    const columns = LAKE_COLUMNS.map(([name]) => `"${name}"`).join(", ");
    // The partition column comes from the file's folder, as Hive-aware engines read it.
    const date = `, CAST(regexp_extract(filename, 'date=([0-9-]+)', 1) AS DATE) AS "date"`;
    // A version 1 lake (not synced by this build yet) reads as the current columns.
    const select =
      paths.length === 0
        ? emptyTableSql()
        : manifest.schemaVersion < 2
          ? v1FileSelectSql(paths, date)
          : `SELECT ${columns}${date} FROM read_parquet([${paths.map(sqlString).join(", ")}], filename = true, hive_partitioning = false)`;
    await db.run(`CREATE VIEW audit_log AS ${select}`);
    await db.run(`SET allowed_directories = [${sqlString(join(root, "/"))}]`);
    await db.run("SET enable_external_access = false");
    await db.run("SET lock_configuration = true");
  } catch (error) {
    db.closeSync();
    instance.closeSync();
    throw error;
  }
  /** One statement, prepared, and refused unless it is read-only. */
  async function prepareReadOnly(sql: string): Promise<DuckDBPreparedStatement> {
    let extracted: Awaited<ReturnType<DuckDBConnection["extractStatements"]>>;
    try {
      extracted = await db.extractStatements(sql);
    } catch (error) {
      throw new SyncUsageError(
        `query: ${(error as Error).message.replace(/^Failed to extract statements: /, "")}`,
      );
    }
    if (extracted.count !== 1)
      throw new SyncUsageError(`query: give exactly one SQL statement (got ${extracted.count})`);
    let prepared: DuckDBPreparedStatement;
    try {
      prepared = await extracted.prepare(0);
    } catch (error) {
      throw new SyncUsageError(`query: ${(error as Error).message}`);
    }
    if (!READ_ONLY.has(prepared.statementType))
      throw new SyncUsageError(
        `query: only read-only statements (SELECT, WITH, EXPLAIN) are allowed; this one is ${StatementType[prepared.statementType]}`,
      );
    return prepared;
  }
  return {
    async query(sql: string): Promise<DuckDBMaterializedResult> {
      const prepared = await prepareReadOnly(sql);
      try {
        return await prepared.run();
      } catch (error) {
        throw new SyncUsageError(`query: ${(error as Error).message}`);
      }
    },
    async stream(sql: string): Promise<DuckDBResult> {
      const prepared = await prepareReadOnly(sql);
      try {
        return await prepared.stream();
      } catch (error) {
        throw new SyncUsageError(`query: ${(error as Error).message}`);
      }
    },
    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}
