/**
 * `--data FILE`: JSONL, one AuditLogEntry per line in the REST JSON form. All or nothing: the first
 * bad line aborts the load with `file:line: reason`.
 */
import { readFileSync } from "node:fs";
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { auditLogEntryFromJson, type JsonValue } from "../codec/index.js";

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

/**
 * Reads a JSONL file of entries. Blank lines are skipped. Throws {@link DataFileError} naming the
 * file, the 1-based line number and the reason; nothing is returned unless every line parses.
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
    if (line === "") continue;
    let json: JsonValue;
    try {
      json = JSON.parse(line) as JsonValue;
    } catch (e) {
      throw new DataFileError(path, i + 1, `malformed JSON: ${(e as Error).message}`);
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new DataFileError(path, i + 1, "expected one AuditLogEntry JSON object per line");
    }
    try {
      const entry = auditLogEntryFromJson(json);
      out.push(entry);
    } catch (e) {
      throw new DataFileError(path, i + 1, `not an AuditLogEntry: ${(e as Error).message}`);
    }
  }
  return out;
}
