/**
 * Reads an export back as entry lines: JSON Lines or the JSON array `export --format json` writes
 * (one entry per line between `[` and `]`), either gzipped (detected by its magic bytes, whatever the
 * name). Lines come in batches, which is what keeps a million-entry replay cheap.
 */
import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { createGunzip, gunzipSync } from "node:zlib";
import { UsageError } from "../cli/exitCodes.js";

/** A bad input file: one line naming the file (and line). */
export class InputError extends UsageError {
  override name = "InputError";
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r").catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`--input: cannot read ${path} (${error.code ?? error.message})`);
  });
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Entry lines of an export (each the entry's JSON text, no trailing comma or newline), in batches.
 * A JSON array in any other layout is read whole and each entry re-printed compactly.
 */
export async function* readExportLines(path: string): AsyncGenerator<string[]> {
  const gz = await isGzip(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? file.pipe(createGunzip()) : file;
  stream.setEncoding("utf8");
  let carry = "";
  let mode: "unknown" | "jsonl" | "array" = "unknown";
  let fallback = false;
  /** The entry text of a line; undefined for layout lines; sets `fallback` for an unknown layout. */
  const entryOf = (raw: string): string | undefined => {
    let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
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
    return line === "" ? undefined : line;
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const parts = (carry + chunk).split("\n");
      carry = parts.pop() as string;
      const batch: string[] = [];
      for (const raw of parts) {
        const line = entryOf(raw);
        if (fallback) break;
        if (line !== undefined) batch.push(line);
      }
      if (fallback) break;
      if (batch.length > 0) yield batch;
    }
    if (!fallback && carry !== "") {
      const line = entryOf(carry);
      if (!fallback && line !== undefined) yield [line];
    }
  } finally {
    file.destroy();
  }
  if (fallback) yield* readWholeArray(path, gz);
}

async function* readWholeArray(path: string, gz: boolean): AsyncGenerator<string[]> {
  const bytes = await readFile(path);
  let doc: unknown;
  try {
    doc = JSON.parse((gz ? gunzipSync(bytes) : bytes).toString("utf8"));
  } catch (error) {
    throw new InputError(`--input: ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new InputError(`--input: ${path} is not a JSON array of entries`);
  for (let i = 0; i < doc.length; i += 4096) yield doc.slice(i, i + 4096).map((e) => JSON.stringify(e));
}
