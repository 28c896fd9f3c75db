/**
 * The one reader of export files, for every command that reads what `export` wrote (`report --input`,
 * `rules test --input`): JSON Lines or one JSON array (any layout), gzip-compressed or not (told by
 * the file's first bytes, not its name). It streams: memory holds one chunk and its entries, whatever
 * the file's size; a line (or array element) is bounded by MAX_LINE_CHARS (packages/client/src/domain/lines.ts).
 * Each entry is parsed and checked against the one definition of an entry
 * (packages/client/src/domain/exportedEntry.ts), so a file of other JSON objects is refused, naming file and line.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { type ExportedEntry, exportedEntryFromJson, NotAnEntryError } from "../domain/exportedEntry.js";
import {
  countNewlines,
  LineSplitter,
  LineTooLongError,
  MAX_LINE_CHARS,
  MAX_LINE_TEXT,
  type NumberedLine,
} from "../domain/lines.js";
import { InputError } from "./errors.js";

export { InputError };

/** One entry of an export file. */
export interface ExportRecord {
  /** The line it starts on (1-based). */
  line: number;
  /**
   * Its JSON text on one line: as written, or re-printed compactly when the file laid it out over
   * several lines or beside other elements (a pretty-printed array).
   */
  text: string;
  /** The parsed JSON (REST form). */
  json: Record<string, unknown>;
  /** The fields readers use. */
  entry: ExportedEntry;
}

/**
 * The record of one entry's JSON `text` (see {@link ExportRecord}; `alone`: the text stood alone on
 * its line, so it is kept as written). For every source of exported entries: files, the lake.
 * @throws SyntaxError when `text` is not JSON; NotAnEntryError when it is not an audit-log entry.
 */
export function exportRecord(line: number, text: string, alone = true): ExportRecord {
  const json: unknown = JSON.parse(text);
  const entry = exportedEntryFromJson(json);
  // Alone on its line, the text is the entry's line as export wrote it; else it is re-printed, so
  // that what consumers splice into one line (an alert's entries) is one line.
  return { line, text: alone ? text : JSON.stringify(json), json: json as Record<string, unknown>, entry };
}

/** Bytes read from the file at a time. */
const CHUNK_BYTES = 256 * 1024;

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
    // A directory opens, and fails only here (EISDIR).
    await fh.close();
    throw new InputError(`cannot read ${path} (${describeOpenError(error)})`);
  }
}

/** Text chunks of the file, decompressed when it is gzip; `read.bytes()` says how many bytes of the file were read. */
async function* textChunks(
  fh: FileHandle,
  gzip: boolean,
  path: string,
  read: { bytes: () => number },
): AsyncGenerator<string> {
  const raw = fh.createReadStream({ start: 0, highWaterMark: CHUNK_BYTES });
  read.bytes = () => raw.bytesRead;
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

/**
 * Splits a JSON array's text, fed in chunks, into the text of its elements (each an object), with
 * the line each starts on and whether it stands alone on its line (export's own layout).
 */
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
  /** Only whitespace since the last newline (an element starting now starts its line). */
  #lineStart = true;
  #elementAlone = false;
  constructor(
    readonly path: string,
    readonly emit: (text: string, line: number, alone: boolean) => void,
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
      if (c === 10) {
        this.#line++;
        this.#lineStart = true;
        if (this.#inElement) this.#elementAlone = false;
      }
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
            this.emit(text, this.#elementLine, this.#elementAlone);
          }
        }
        continue;
      }
      // Outside elements: only whitespace and the array's punctuation.
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      const startsLine = this.#lineStart;
      this.#lineStart = false;
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
        this.#elementAlone = startsLine;
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

/** Options of {@link ExportFile}. */
export interface ExportFileOptions {
  /** Who reads, for the message that refuses a CSV export (default "report"). */
  reader?: string;
}

/**
 * An export file, read as batches of {@link ExportRecord} in file order (one batch a chunk). After
 * the iteration, {@link format}, {@link gzip} and {@link entries} say what was read.
 *
 * @throws InputError (from the iteration) when the file cannot be read or is not an export.
 */
export class ExportFile implements AsyncIterable<ExportRecord[]> {
  format: "jsonl" | "json" | undefined;
  gzip = false;
  entries = 0;
  /** The file's size in bytes (compressed, for gzip), known once the iteration started. */
  size = 0;
  readonly #read = { bytes: () => 0 };

  constructor(
    readonly path: string,
    readonly options: ExportFileOptions = {},
  ) {}

  /** Bytes of the file read so far (compressed, for gzip): with {@link size}, how far the reading is. */
  get bytesRead(): number {
    return this.#read.bytes();
  }

  #record(line: number, text: string, alone: boolean): ExportRecord {
    const where = `line ${line}`;
    try {
      const record = exportRecord(line, text, alone);
      this.entries++;
      return record;
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new InputError(`${this.path}: ${where}: not JSON (${error.message}); not an export`);
      if (error instanceof NotAnEntryError)
        throw new InputError(`${this.path}: ${where}: not an audit-log entry: ${error.message}`);
      throw error;
    }
  }

  #splitLines(lines: LineSplitter, chunk: string): NumberedLine[] {
    try {
      return lines.push(chunk);
    } catch (error) {
      if (error instanceof LineTooLongError)
        throw new InputError(`${this.path}: ${error.message} (the most an entry may take); not an export`);
      throw error;
    }
  }

  /** The format the text starting with `head` (trimmed, non-empty) is in; InputError for neither. */
  #formatOf(head: string, line: number): "jsonl" | "json" {
    if (head.startsWith("[")) return "json";
    if (head.startsWith("{")) return "jsonl";
    const hint = /^"?timestamp"?,/.test(head)
      ? `a CSV export; ${this.options.reader ?? "report"} reads JSONL or JSON exports (export \`format\` jsonl)`
      : `not an export (JSON Lines or a JSON array of audit-log entries); it starts with ${JSON.stringify(head.slice(0, 40))}`;
    throw new InputError(`${this.path}: line ${line}: ${hint}`);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExportRecord[]> {
    const { path } = this;
    const { fh, gzip } = await openInput(path);
    this.gzip = gzip;
    let batch: ExportRecord[] = [];
    const onLine = ({ line, text }: NumberedLine) => {
      if (text.trim() !== "") batch.push(this.#record(line, text, true));
    };
    try {
      this.size = (await fh.stat()).size;
      /** Newlines of the whitespace before the first entry (dropped, counted for line numbers). */
      let leadingLines = 0;
      let first = true;
      let lines: LineSplitter | undefined;
      let splitter: ArraySplitter | undefined;
      for await (let chunk of textChunks(fh, gzip, path, this.#read)) {
        if (this.format === undefined) {
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
          const lineOfHead = leadingLines + countNewlines(chunk.slice(0, chunk.length - head.length));
          this.format = this.#formatOf(head, lineOfHead + 1);
          if (this.format === "json") {
            splitter = new ArraySplitter(
              path,
              (text, at, alone) => batch.push(this.#record(at, text, alone)),
              lineOfHead + 1,
            );
          } else {
            // The head's line starts after the last newline skipped: blank lines before it are dropped.
            lines = new LineSplitter(lineOfHead);
          }
          chunk = head;
        }
        if (splitter !== undefined) splitter.push(chunk);
        else for (const line of this.#splitLines(lines as LineSplitter, chunk)) onLine(line);
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
      }
      if (splitter !== undefined) splitter.end();
      else {
        const last = lines?.end();
        if (last !== undefined) onLine(last);
      }
      if (batch.length > 0) yield batch;
    } finally {
      await fh.close();
    }
  }
}
