/**
 * The DuckDB connections a lake writes its files with, one commit's files at a time each, handed
 * out in call order (so commits are staged in the order they were made).
 */
import "./duckdbAllocator.js";
import { JsonlPageEncoder } from "@clarifai-audit/client/internal/codec/jsonlTranscoder.js";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/** How DuckDB keeps memory: see `LakeStoreOptions.memory`. */
export type LakeMemory = "lean" | "fast";

/**
 * Writers by memory mode: a second one keeps both cores busy (the walk waited for DuckDB most of
 * a one-writer run) but holds a second working set, which `lean` cannot afford (bench/notes.md).
 */
export const WRITERS: Readonly<Record<LakeMemory, number>> = { lean: 1, fast: 2 };

/** A DuckDB connection, and the buffer its commit's lines are encoded into (its own: no copy). */
export interface Writer {
  readonly db: DuckDBConnection;
  readonly encoder: JsonlPageEncoder;
  readonly ends: number[];
}

/** See the module comment. */
export class WriterPool {
  readonly #instance: DuckDBInstance;
  #idle: Writer[];
  readonly #waiting: ((writer: Writer) => void)[] = [];

  private constructor(instance: DuckDBInstance, writers: Writer[]) {
    this.#instance = instance;
    this.#idle = writers;
  }

  /** An in-memory DuckDB with `WRITERS[memory]` connections. */
  static async open(memory: LakeMemory): Promise<WriterPool> {
    const instance = await DuckDBInstance.create(":memory:");
    const first = await instance.connect();
    // A commit's rows are all DuckDB holds; its default (80% of RAM) would let caches grow unchecked.
    await first.run("SET memory_limit = '192MB'");
    // No worker threads: each statement runs on the thread that called it, so writers' COPYs run
    // side by side, and each thread keeps its own buffers (bench/notes.md).
    await first.run("SET threads = 1");
    if (memory === "lean") {
      // Hand freed memory back after each statement instead of caching up to 128 MiB (512 MiB after
      // bulk frees): without it the process grows commit by commit (bench/notes.md).
      await first.run("SET allocator_flush_threshold = '1MB'");
      await first.run("SET allocator_bulk_deallocation_flush_threshold = '1MB'");
    }
    const writers = [newWriter(first)];
    while (writers.length < WRITERS[memory]) writers.push(newWriter(await instance.connect()));
    return new WriterPool(instance, writers);
  }

  /** An idle writer; callers waiting are served in call order. */
  take(): Promise<Writer> {
    const idle = this.#waiting.length === 0 ? this.#idle.pop() : undefined;
    if (idle !== undefined) return Promise.resolve(idle);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives `writer` back, to the longest waiting caller if any. */
  give(writer: Writer): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(writer);
    else this.#idle.push(writer);
  }

  /** Runs one statement on the next idle writer. */
  async run(sql: string): Promise<void> {
    const writer = await this.take();
    try {
      await writer.db.run(sql);
    } finally {
      this.give(writer);
    }
  }

  /** Closes DuckDB (every writer must have been given back). */
  close(): void {
    for (const writer of this.#idle) writer.db.closeSync();
    this.#idle = [];
    this.#instance.closeSync();
  }
}

function newWriter(db: DuckDBConnection): Writer {
  return { db, encoder: new JsonlPageEncoder({ ownTranscoder: true }), ends: [] };
}
