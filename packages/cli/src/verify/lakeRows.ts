/**
 * The leaves of a lake's Parquet file: its `entry` column in row order, read by DuckDB (an
 * in-memory instance, no extension loaded), chunk by chunk.
 */
import "../sync/lake/duckdbAllocator.js";
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "../sync/lake/schema.js";

/** An open DuckDB to read files' entries with. */
export class LakeRows {
  readonly #instance: DuckDBInstance;
  readonly #db: DuckDBConnection;

  private constructor(instance: DuckDBInstance, db: DuckDBConnection) {
    this.#instance = instance;
    this.#db = db;
  }

  static async open(): Promise<LakeRows> {
    const instance = await DuckDBInstance.create(":memory:", {
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      allow_community_extensions: "false",
      temp_directory: "",
    });
    return new LakeRows(instance, await instance.connect());
  }

  /**
   * The leaf hashes of the rows of the Parquet file `path` (absolute), in row order, with the
   * 1-based row of each; or what DuckDB said when it could not read it.
   */
  async leaves(path: string, signal?: AbortSignal): Promise<LeafHashes | { error: string }> {
    const leaves = new LeafHashes();
    try {
      const result = await this.#db.stream(`SELECT "entry" FROM read_parquet(${sqlString(path)})`);
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const column = chunk.getColumnVector(0);
        for (let i = 0; i < chunk.rowCount; i++) {
          const line = column.getItem(i);
          leaves.add(Buffer.from(typeof line === "string" ? line : "", "utf8"));
        }
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      return { error: (error as Error).message.split("\n")[0] ?? "" };
    }
    return leaves;
  }

  close(): void {
    this.#db.closeSync();
    this.#instance.closeSync();
  }
}
