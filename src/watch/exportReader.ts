/**
 * Reads an export back as entry lines: JSON Lines or the JSON array `export --format json` writes
 * (one entry per line between `[` and `]`), either gzipped (detected by its magic bytes, whatever the
 * name). Lines come in batches, which is what keeps a million-entry replay cheap.
 */
import { createReadStream } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { createGunzip, gunzipSync } from "node:zlib";
import { LineSplitter, LineTooLongError, type NumberedLine } from "../domain/lines.js";
import { InputError } from "../export/errors.js";

export { InputError };

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r").catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read ${path} (${error.code ?? error.message})`);
  });
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } catch (error) {
    // A directory opens, and fails only here (EISDIR).
    const e = error as NodeJS.ErrnoException;
    throw new InputError(`cannot read ${path} (${e.code ?? e.message})`);
  } finally {
    await fh.close();
  }
}

/**
 * Entry lines of an export (each the entry's JSON text, no trailing comma or newline), in batches.
 * A JSON array in any other layout is read whole and each entry re-printed compactly.
 */
export async function* readExportLines(path: string): AsyncGenerator<string[]> {
  for await (const batch of readNumberedExportLines(path)) yield batch.map((l) => l.text);
}

/**
 * {@link readExportLines} with each line's number in the file (for a re-printed JSON array, the
 * element's number). Time is linear in the file's size, and a line longer than MAX_LINE_CHARS
 * (src/domain/lines.ts) is an InputError naming the file and line.
 */
export async function* readNumberedExportLines(path: string): AsyncGenerator<NumberedLine[]> {
  const gz = await isGzip(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? file.pipe(createGunzip()) : file;
  if (gz) file.on("error", (error) => stream.destroy(error));
  stream.setEncoding("utf8");
  const lines = new LineSplitter();
  let mode: "unknown" | "jsonl" | "array" = "unknown";
  let fallback = false;
  /** The entry text of a line; undefined for layout lines; sets `fallback` for an unknown layout. */
  const entryOf = (raw: string): string | undefined => {
    let line = raw;
    if (mode === "unknown") {
      const t = line.trim();
      if (t === "") return undefined;
      mode = t.startsWith("[") ? "array" : "jsonl";
      if (mode === "array") {
        if (t !== "[") fallback = true;
        return undefined;
      }
    }
    if (mode === "array") {
      if (line === "]" || line === "") return undefined;
      if (line.endsWith(",")) line = line.slice(0, -1);
      if (line.charCodeAt(0) !== 0x7b) {
        fallback = true;
        return undefined;
      }
      return line;
    }
    return line.trim() === "" ? undefined : line;
  };
  const batchOf = (found: NumberedLine[]): NumberedLine[] => {
    const batch: NumberedLine[] = [];
    for (const { line, text } of found) {
      const entry = entryOf(text);
      if (fallback) break;
      if (entry !== undefined) batch.push({ line, text: entry });
    }
    return batch;
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let found: NumberedLine[];
      try {
        found = lines.push(chunk);
      } catch (error) {
        if (error instanceof LineTooLongError)
          throw new InputError(`${path}: ${error.message} (the most an entry may take); not an export`);
        throw error;
      }
      const batch = batchOf(found);
      if (fallback) break;
      if (batch.length > 0) yield batch;
    }
    if (!fallback) {
      const last = lines.end();
      const batch = last !== undefined ? batchOf([last]) : [];
      if (!fallback && batch.length > 0) yield batch;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new InputError(
      gz && code.startsWith("Z_")
        ? `${path} is not a valid gzip file (${(error as Error).message})`
        : `cannot read ${path} (${code || (error as Error).message})`,
    );
  } finally {
    file.destroy();
    if (gz) stream.destroy();
  }
  if (fallback) yield* readWholeArray(path, gz);
}

/**
 * Most bytes (decompressed) of a JSON array in a layout other than one entry per line, which is
 * read whole: 256 MiB, so a huge or gzip-bomb file is refused rather than filling memory.
 */
const MAX_WHOLE_ARRAY_BYTES = 256 * 1024 * 1024;

async function* readWholeArray(path: string, gz: boolean): AsyncGenerator<NumberedLine[]> {
  const tooBig = new InputError(
    `${path}: a JSON array laid out other than one entry per line is read whole, and this one is over 256 MiB; export it again (export \`format\` json or jsonl)`,
  );
  if ((await stat(path)).size > MAX_WHOLE_ARRAY_BYTES) throw tooBig;
  const bytes = await readFile(path);
  let doc: unknown;
  try {
    doc = JSON.parse(
      (gz ? gunzipSync(bytes, { maxOutputLength: MAX_WHOLE_ARRAY_BYTES }) : bytes).toString("utf8"),
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooBig;
    throw new InputError(`${path} is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new InputError(`${path} is not a JSON array of entries`);
  for (let i = 0; i < doc.length; i += 4096)
    yield doc
      .slice(i, i + 4096)
      .map((e, j): NumberedLine => ({ line: i + j + 1, text: JSON.stringify(e), element: true }));
}
