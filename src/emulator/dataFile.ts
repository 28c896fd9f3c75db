/**
 * `--data FILE`: JSONL, one AuditLogEntry per line in the REST JSON form. All or nothing: the first
 * bad line aborts the load with `file:line: reason`. Files are streamed (bounded memory whatever
 * their size), and lines in the form the exporter prints take a fast path (src/emulator/entryFromJson.ts).
 */
import { createReadStream, readFileSync } from "node:fs";
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { auditLogEntryFromJson, type JsonValue } from "../codec/index.js";
import { fastEntryFromJson } from "./entryFromJson.js";

/** A data file that cannot be loaded; the message is `file:line: reason`. */
export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = "DataFileError";
  }
}

/** One line (trimmed, not blank) → its entry; throws DataFileError naming the line. */
function parseLine(path: string, lineNo: number, line: string): AuditLogEntry {
  let json: JsonValue;
  try {
    json = JSON.parse(line) as JsonValue;
  } catch (e) {
    throw new DataFileError(path, lineNo, `malformed JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new DataFileError(path, lineNo, "expected one AuditLogEntry JSON object per line");
  }
  const fast = fastEntryFromJson(line, json);
  if (fast !== undefined) return fast;
  try {
    return auditLogEntryFromJson(json);
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
  const lines = text.split("\n");
  const out: AuditLogEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line !== "") out.push(parseLine(path, i + 1, line));
  }
  return out;
}

/**
 * Streams a JSONL file of entries to `onBatch`, `batchSize` entries at a time, in file order; memory
 * stays bounded by a batch whatever the file's size. Rejects with {@link DataFileError} at the first
 * bad line (the batches before it were delivered: a caller that wants all or nothing discards them).
 */
export async function streamEntriesFile(
  path: string,
  onBatch: (entries: AuditLogEntry[]) => void,
  batchSize = 4096,
): Promise<number> {
  // Lines are cut from the raw chunks (readline costs as much as the parsing); a line split across
  // chunks is carried over as bytes, so a multi-byte character cut in two is decoded whole.
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  let lineNo = 0;
  let count = 0;
  let batch: AuditLogEntry[] = [];
  let carry: Buffer | undefined;
  const take = (bytes: Buffer) => {
    lineNo++;
    const line = bytes.toString("utf8").trim();
    if (line === "") return;
    batch.push(parseLine(path, lineNo, line));
    if (batch.length === batchSize) {
      onBatch(batch);
      count += batch.length;
      batch = [];
    }
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
  if (batch.length > 0) onBatch(batch);
  return count + batch.length;
}
