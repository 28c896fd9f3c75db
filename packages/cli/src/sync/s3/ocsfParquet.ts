/**
 * OCSF events as zstd Parquet, one file per (class, day) of a commit, for the Security Lake layout
 * (securityLake.ts). Every file of one class has the SAME schema, whatever the events of the file
 * hold: Security Lake's Glue crawler and Athena read a custom source as one table, and a column that
 * changes type between files breaks the table. So the column types are never inferred from a file's
 * events: they are derived once per class from MAXIMAL events — the mapper's output for every
 * operation of the class with every field of the entry filled in — by mapping each JSON value kind
 * to a DuckDB type (object → STRUCT, array → LIST, string → VARCHAR, integer → BIGINT, …). An
 * event's absent field reads as NULL. `raw_data` is the entry's JSON text and `unmapped` JSON text,
 * so an entry's free-form details never change the schema.
 */
import "../lake/duckdbAllocator.js";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPERATIONS } from "@clarifai-audit/client/internal/domain/operations.js";
import {
  TARGET_KIND_JSON_NAMES,
  TARGET_KIND_TABLE,
  TARGET_KINDS,
} from "@clarifai-audit/client/internal/domain/targets.js";
import { ocsfClassOf, ocsfEventJsonOfLine } from "@clarifai-audit/client/internal/ocsf/index.js";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/** A DuckDB column type, built from JSON value kinds. */
type Shape =
  | { t: "scalar"; sql: "BOOLEAN" | "BIGINT" | "DOUBLE" | "VARCHAR" | "JSON" }
  | { t: "list"; of: Shape | undefined }
  | { t: "struct"; fields: Map<string, Shape> };

/** Columns kept as text whatever they hold (see the module's comment). */
const TEXT_COLUMNS: Readonly<Record<string, "VARCHAR" | "JSON">> = { raw_data: "VARCHAR", unmapped: "JSON" };

function shapeOf(v: unknown): Shape | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "boolean") return { t: "scalar", sql: "BOOLEAN" };
  if (typeof v === "number") return { t: "scalar", sql: Number.isInteger(v) ? "BIGINT" : "DOUBLE" };
  if (typeof v === "string") return { t: "scalar", sql: "VARCHAR" };
  if (Array.isArray(v)) return { t: "list", of: v.map(shapeOf).reduce(merge, undefined) };
  const fields = new Map<string, Shape>();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const s = shapeOf(x);
    if (s !== undefined) fields.set(k, s);
  }
  return { t: "struct", fields };
}

/** The type holding both; kinds that cannot meet become JSON text (never seen for this mapper). */
function merge(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.t === "scalar" && b.t === "scalar") {
    if (a.sql === b.sql) return a;
    const numbers = new Set([a.sql, b.sql]);
    if (numbers.has("BIGINT") && numbers.has("DOUBLE") && numbers.size === 2)
      return { t: "scalar", sql: "DOUBLE" };
    return { t: "scalar", sql: "JSON" };
  }
  if (a.t === "list" && b.t === "list") return { t: "list", of: merge(a.of, b.of) };
  if (a.t === "struct" && b.t === "struct") {
    const fields = new Map(a.fields);
    for (const [k, s] of b.fields) fields.set(k, merge(fields.get(k), s) as Shape);
    return { t: "struct", fields };
  }
  return { t: "scalar", sql: "JSON" };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

function sqlOf(s: Shape | undefined): string {
  if (s === undefined) return "VARCHAR";
  if (s.t === "scalar") return s.sql;
  if (s.t === "list") return `${sqlOf(s.of)}[]`;
  if (s.fields.size === 0) return "JSON";
  return `STRUCT(${[...s.fields].map(([k, f]) => `${ident(k)} ${sqlOf(f)}`).join(", ")})`;
}

/** An entry's REST JSON line with every field the mapper reads filled in. */
function maximalLine(operation: number, success: boolean): string {
  const targets = TARGET_KINDS.map((kind) => {
    const parent = TARGET_KIND_TABLE[kind].parent;
    const fields: Record<string, unknown> = {
      id: `${kind}-id`,
      name: `${kind}-name`,
      app_id: "app",
      user_id: "user",
    };
    if (parent !== undefined)
      fields[parent.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = { id: "parent" };
    return { [TARGET_KIND_JSON_NAMES[kind]]: fields };
  });
  return JSON.stringify({
    timestamp: "2025-01-01T00:00:00.123456789Z",
    operation,
    user: { id: "user", first_name: "First", last_name: "Last", primary_email: "user@example.com" },
    description: "description",
    targets,
    details: ["detail"],
    success,
    req_id: "request",
    source_ip: "192.0.2.1",
  });
}

/** The OCSF classes the mapper emits, each with the operations it maps there (0: an unknown one). */
function operationsByClass(): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const op of [0, ...OPERATIONS.values()]) {
    const { classUid } = ocsfClassOf(op);
    out.set(classUid, [...(out.get(classUid) ?? []), op]);
  }
  return out;
}

const columnsCache = new Map<number, string>();

/**
 * The `columns={…}` of `read_json` for the events of `classUid`: the top-level attributes of the
 * class's maximal events in the mapper's order, each with its DuckDB type. The same text on every
 * call and in every process running this version: it is the class's table schema.
 */
export function ocsfColumnsOfClass(classUid: number): string {
  const cached = columnsCache.get(classUid);
  if (cached !== undefined) return cached;
  const ops = operationsByClass().get(classUid) ?? [0];
  let shape: Shape | undefined;
  for (const op of ops)
    for (const success of [true, false]) {
      const event = JSON.parse(
        ocsfEventJsonOfLine(maximalLine(op, success), { account: "account", entryId: "id" }),
      );
      shape = merge(shape, shapeOf(event));
    }
  const fields = shape?.t === "struct" ? shape.fields : new Map<string, Shape>();
  const columns = [...fields].map(
    ([k, s]) => `${ident(k)}: '${(TEXT_COLUMNS[k] ?? sqlOf(s)).replace(/'/g, "''")}'`,
  );
  for (const [k, sql] of Object.entries(TEXT_COLUMNS))
    if (!fields.has(k)) columns.push(`${ident(k)}: '${sql}'`);
  const text = `{${columns.join(", ")}}`;
  columnsCache.set(classUid, text);
  return text;
}

/** Writes OCSF events as Parquet files with one in-memory DuckDB, opened on first use. */
export class OcsfParquetWriter {
  #instance: DuckDBInstance | undefined;
  #db: DuckDBConnection | undefined;

  async #connection(): Promise<DuckDBConnection> {
    if (this.#db === undefined) {
      // One thread and a bounded memory: a commit's day of one class is what DuckDB holds.
      this.#instance = await DuckDBInstance.create(":memory:", { threads: "1", memory_limit: "512MB" });
      this.#db = await this.#instance.connect();
    }
    return this.#db;
  }

  /** The zstd Parquet bytes of `lines` (OCSF events of class `classUid`, one JSON text each). */
  async parquet(classUid: number, lines: readonly string[]): Promise<Buffer> {
    const db = await this.#connection();
    // The events go through a scratch file: read_json's types are the class's, never guessed.
    const dir = await mkdtemp(join(tmpdir(), "clarifai-audit-ocsf-"));
    try {
      const input = join(dir, "events.jsonl");
      const output = join(dir, "events.parquet");
      await writeFile(input, `${lines.join("\n")}\n`, { mode: 0o600 });
      const q = (p: string) => `'${p.replace(/'/g, "''")}'`;
      await db.run(
        `COPY (SELECT * FROM read_json(${q(input)}, format='newline_delimited', columns=${ocsfColumnsOfClass(classUid)}, maximum_object_size=134217728)) TO ${q(output)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      return await readFile(output);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The entries' JSON lines (`raw_data`) of a Parquet file this writer made. */
  async rawLines(body: Buffer): Promise<string[]> {
    const db = await this.#connection();
    const dir = await mkdtemp(join(tmpdir(), "clarifai-audit-ocsf-"));
    try {
      const file = join(dir, "read.parquet");
      await writeFile(file, body, { mode: 0o600 });
      const reader = await db.runAndReadAll(
        `SELECT raw_data FROM read_parquet('${file.replace(/'/g, "''")}')`,
      );
      return reader.getRowObjects().map((r) => String(r.raw_data));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  close(): void {
    this.#db?.closeSync();
    this.#instance?.closeSync();
    this.#db = undefined;
    this.#instance = undefined;
  }
}
