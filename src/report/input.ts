/**
 * Reads an export file as a stream of entries: JSON Lines or one JSON array (what `export` writes),
 * gzip-compressed or not (told by the file's first bytes, not its name). Memory holds one chunk and
 * one entry at a time, whatever the file's size.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import {
  countNewlines,
  LineSplitter,
  LineTooLongError,
  MAX_LINE_CHARS,
  MAX_LINE_TEXT,
  type NumberedLine,
} from "../domain/lines.js";
import { InputError } from "../export/errors.js";
import { NotAnEntryError, type ReportEntry, reportEntryFromJson } from "./entry.js";

// One class for an unreadable input, whichever reader found it (report's, watch's, a lake's).
export { InputError };

/** What was read. */
export interface InputSummary {
  format: "jsonl" | "json";
  gzip: boolean;
  entries: number;
}

/** The lines `chunk` completes; a line over the limit is an InputError naming the file and line. */
function splitLines(path: string, lines: LineSplitter, chunk: string): NumberedLine[] {
  try {
    return lines.push(chunk);
  } catch (error) {
    if (error instanceof LineTooLongError)
      throw new InputError(`${path}: ${error.message} (the most an entry may take); not an export`);
    throw error;
  }
}

function describeOpenError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return code ?? String(error);
}

async function openInput(path: string): Promise<{ fh: FileHandle; gzip: boolean }> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (error) {
    throw new InputError(`cannot read ${path} (${describeOpenError(error)})`);
  }
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return { fh, gzip: bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b };
  } catch (error) {
    await fh.close();
    throw new InputError(`cannot read ${path} (${describeOpenError(error)})`);
  }
}

/** Text chunks of the file, decompressed when it is gzip. */
async function* textChunks(fh: FileHandle, gzip: boolean, path: string): AsyncGenerator<string> {
  const raw = fh.createReadStream({ start: 0, highWaterMark: 256 * 1024 });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on("error", (error) => stream.destroy(error));
  stream.setEncoding("utf8");
  try {
    for await (const chunk of stream) yield chunk as string;
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (gzip && code.startsWith("Z_")) {
      throw new InputError(`${path} is not a valid gzip file (${(error as Error).message})`);
    }
    throw new InputError(`cannot read ${path} (${describeOpenError(error)})`);
  } finally {
    raw.destroy();
    if (gzip) stream.destroy();
  }
}

function entryAt(path: string, where: string, text: string): ReportEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path}: ${where}: not JSON (${(error as Error).message}); not an export`);
  }
  try {
    return reportEntryFromJson(value);
  } catch (error) {
    if (error instanceof NotAnEntryError) {
      throw new InputError(`${path}: ${where}: not an audit-log entry: ${error.message}`);
    }
    throw error;
  }
}

/** Splits a JSON array's text, fed in chunks, into the text of its elements (each an object). */
class ArraySplitter {
  #depth = 0;
  #inString = false;
  #escape = false;
  #closed = false;
  /** An element ended and no comma has followed yet. */
  #needComma = false;
  #parts: string[] = [];
  #partChars = 0;
  #inElement = false;
  #line = 1;
  #elementLine = 0;
  constructor(
    readonly path: string,
    readonly emit: (text: string, line: number) => void,
    firstLine = 1,
  ) {
    this.#line = firstLine;
  }

  #fail(what: string): never {
    throw new InputError(`${this.path}: line ${this.#line}: ${what}; not a JSON array of entries`);
  }

  push(chunk: string): void {
    let start = this.#inElement ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) this.#line++;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 92) this.#escape = true;
        else if (c === 34) this.#inString = false;
        continue;
      }
      if (this.#inElement) {
        if (c === 34) this.#inString = true;
        else if (c === 123 || c === 91) this.#depth++;
        else if (c === 125 || c === 93) {
          this.#depth--;
          if (this.#depth === 1) {
            this.#parts.push(chunk.slice(start, i + 1));
            const text = this.#parts.join("");
            this.#parts = [];
            this.#partChars = 0;
            this.#inElement = false;
            this.#needComma = true;
            start = -1;
            this.emit(text, this.#elementLine);
          }
        }
        continue;
      }
      // Outside elements: only whitespace and the array's punctuation.
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      if (this.#closed) this.#fail("text after the array's closing ]");
      if (this.#depth === 0) {
        if (c !== 91) this.#fail("expected [");
        this.#depth = 1;
      } else if (c === 44) {
        if (!this.#needComma) this.#fail("unexpected ,");
        this.#needComma = false;
      } else if (c === 93) {
        this.#depth = 0;
        this.#closed = true;
      } else if (c === 123) {
        if (this.#needComma) this.#fail("expected , or ] between elements");
        this.#inElement = true;
        this.#depth = 2;
        this.#elementLine = this.#line;
        start = i;
      } else {
        this.#fail("an element that is not an object (an export's array holds one object per entry)");
      }
    }
    if (this.#inElement) {
      this.#parts.push(chunk.slice(start));
      this.#partChars += chunk.length - start;
      if (this.#partChars > MAX_LINE_CHARS) {
        throw new InputError(
          `${this.path}: line ${this.#elementLine}: an element longer than ${MAX_LINE_TEXT} (the most an entry may take); not an entry`,
        );
      }
    }
  }

  end(): void {
    if (this.#inElement || (this.#depth > 0 && !this.#closed))
      this.#fail("the array is not closed (a truncated file?)");
  }
}

/**
 * Streams the entries of an export file to `onEntry`, in file order.
 * @throws InputError when the file cannot be read or is not an export (naming the line).
 */
export async function readExportFile(
  path: string,
  onEntry: (entry: ReportEntry) => void,
): Promise<InputSummary> {
  const { fh, gzip } = await openInput(path);
  let format: "jsonl" | "json" | undefined;
  let entries = 0;
  try {
    /** Newlines of the whitespace before the first entry (dropped, counted for line numbers). */
    let leadingLines = 0;
    let first = true;
    let lines: LineSplitter | undefined;
    let splitter: ArraySplitter | undefined;
    const onLine = ({ line, text }: NumberedLine) => {
      if (text.trim() === "") return;
      onEntry(entryAt(path, `line ${line}`, text));
      entries++;
    };
    for await (let chunk of textChunks(fh, gzip, path)) {
      if (format === undefined) {
        // A byte-order mark (some editors and Windows tools write one) is not part of the first entry.
        if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
        first = false;
        // Only this chunk is trimmed: whitespace before the first entry is counted and dropped,
        // never carried into the next chunk (which made leading whitespace quadratic).
        const head = chunk.trimStart();
        if (head === "") {
          leadingLines += countNewlines(chunk);
          continue;
        }
        const skipped = chunk.slice(0, chunk.length - head.length);
        const lineOfHead = leadingLines + countNewlines(skipped);
        if (head.startsWith("[")) {
          format = "json";
          splitter = new ArraySplitter(
            path,
            (text, at) => {
              onEntry(entryAt(path, `line ${at}`, text));
              entries++;
            },
            lineOfHead + 1,
          );
          chunk = head;
        } else if (head.startsWith("{")) {
          format = "jsonl";
          // The head's line starts after the last newline skipped: blank lines before it are dropped.
          lines = new LineSplitter(lineOfHead);
          chunk = head;
        } else {
          const hint = /^"?timestamp"?,/.test(head)
            ? "a CSV export; report reads JSONL or JSON exports (export `format` jsonl)"
            : `not an export (JSON Lines or a JSON array of audit-log entries); it starts with ${JSON.stringify(head.slice(0, 40))}`;
          throw new InputError(`${path}: line ${lineOfHead + 1}: ${hint}`);
        }
      }
      if (splitter !== undefined) {
        splitter.push(chunk);
        continue;
      }
      for (const line of splitLines(path, lines as LineSplitter, chunk)) onLine(line);
    }
    if (splitter !== undefined) splitter.end();
    else {
      const last = lines?.end();
      if (last !== undefined) onLine(last);
    }
  } finally {
    await fh.close();
  }
  return { format: format ?? "jsonl", gzip, entries };
}
