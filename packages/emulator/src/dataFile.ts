/**
 * `--data FILE`: JSONL, one AuditLogEntry per line in the REST JSON form. All or nothing: the first
 * bad line aborts the load with `file:line: reason`. Files are streamed (bounded memory whatever
 * their size). A line in the form the exporter prints goes from `JSON.parse` straight to the bytes
 * the emulator stores and serves (packages/client/src/codec/restJsonEncoder.ts) and its filter columns are read
 * from the JSON (packages/emulator/src/jsonColumns.ts); any other line goes through the strict reference
 * mapping, which either reads it or words the error.
 */
import { createReadStream, readFileSync } from "node:fs";
import {
  auditLogEntryFromJson,
  type JsonValue,
  type RestJsonEncoder,
  restJsonEncoder,
} from "@clarifai-audit/client/internal/codec/index.js";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { columnsFromJson } from "./jsonColumns.js";
import type { AuditLog, EntryColumns } from "./store.js";

/** A data file that cannot be loaded; the message is `file:line: reason`. */
export class DataFileError extends ClarifaiAuditError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = "DataFileError";
  }
}

type Json = Record<string, unknown>;

/** One line (trimmed, not blank) → its JSON object; throws DataFileError naming the line. */
function parseJson(path: string, lineNo: number, line: string): Json {
  let json: JsonValue;
  try {
    json = JSON.parse(line) as JsonValue;
  } catch (e) {
    throw new DataFileError(path, lineNo, `malformed JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new DataFileError(path, lineNo, "expected one AuditLogEntry JSON object per line");
  }
  return json as Json;
}

/** The strict reference: the entry, or DataFileError saying what is wrong with it. */
function referenceEntry(path: string, lineNo: number, json: Json): AuditLogEntry {
  try {
    return auditLogEntryFromJson(json as JsonValue);
  } catch (e) {
    throw new DataFileError(path, lineNo, `not an AuditLogEntry: ${(e as Error).message}`);
  }
}

/**
 * Reads a JSONL file of entries. Blank lines are skipped. Throws {@link DataFileError} naming the
 * file, the 1-based line number and the reason; nothing is returned unless every line parses.
 * The whole file is held in memory: for large files use {@link streamEntriesFile}.
 */
export function loadEntriesFile(path: string): AuditLogEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DataFileError(path, 0, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const enc = restJsonEncoder();
  const lines = text.split("\n");
  const out: AuditLogEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    const json = parseJson(path, i + 1, line);
    const n = enc.encode(json);
    out.push(n >= 0 ? AuditLogEntry.decode(enc.buffer().subarray(0, n)) : referenceEntry(path, i + 1, json));
  }
  return out;
}

/** Lines streamed since start-up: encoded directly, and handed to the reference mapping (for the bench). */
export const dataLoadStats = { encoded: 0, reference: 0 };

/** Adds the entry of one line (trimmed, not blank) to `log`, uncommitted. */
function appendLine(
  log: AuditLog,
  enc: RestJsonEncoder,
  cols: EntryColumns,
  path: string,
  lineNo: number,
  line: string,
): void {
  const json = parseJson(path, lineNo, line);
  const n = enc.encode(json);
  if (n < 0) {
    log.append(referenceEntry(path, lineNo, json));
    dataLoadStats.reference++;
    return;
  }
  dataLoadStats.encoded++;
  const bytes = enc.buffer();
  columnsFromJson(json, bytes, n, cols);
  log.appendEncoded(bytes, n, cols);
}

/**
 * Streams a JSONL file of entries into `log`, committing every `batchSize` entries; memory stays
 * bounded by the log itself whatever the file's size. Rejects with {@link DataFileError} at the
 * first bad line (the entries before it were added: a caller that wants all or nothing discards
 * the log). Resolves to the number of entries added.
 */
export async function streamEntriesFile(path: string, log: AuditLog, batchSize = 4096): Promise<number> {
  // Lines are cut from the raw chunks (readline costs as much as the parsing); a line split across
  // chunks is carried over as bytes, so a multi-byte character cut in two is decoded whole.
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  const enc = restJsonEncoder();
  const cols: EntryColumns = {
    seconds: 0,
    nanos: 0,
    userId: "",
    operation: 0,
    success: false,
    sourceIp: "",
    targets: [],
  };
  let lineNo = 0;
  let count = 0;
  let carry: Buffer | undefined;
  const take = (bytes: Buffer) => {
    lineNo++;
    const line = bytes.toString("utf8").trim();
    if (line === "") return;
    appendLine(log, enc, cols, path, lineNo, line);
    if (++count % batchSize === 0) log.commit();
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let at = 0;
      let nl = chunk.indexOf(10);
      if (carry !== undefined && nl >= 0) {
        take(Buffer.concat([carry, chunk.subarray(0, nl)]));
        carry = undefined;
        at = nl + 1;
        nl = chunk.indexOf(10, at);
      }
      while (nl >= 0) {
        take(chunk.subarray(at, nl));
        at = nl + 1;
        nl = chunk.indexOf(10, at);
      }
      if (at < chunk.length)
        carry = carry === undefined ? chunk.subarray(at) : Buffer.concat([carry, chunk.subarray(at)]);
    }
    if (carry !== undefined) take(carry);
  } catch (e) {
    if (e instanceof DataFileError) throw e;
    throw new DataFileError(path, lineNo, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  } finally {
    input.destroy();
  }
  log.commit();
  return count;
}
