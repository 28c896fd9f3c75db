/**
 * A page of JSON lines → its OCSF events as bytes: the exporters' hot path. Each event's head is built
 * as text (event.ts), and `raw_data` is escaped straight from the line's UTF-8 bytes into one output
 * buffer, so the page's biggest part (the entries themselves, once more) is neither re-encoded as a
 * JSON string nor concatenated into a page-sized string that must be encoded again to be written.
 */
import { isUtf8 } from "node:buffer";
import { lineBytesKey } from "../domain/entryKey.js";
import { viewOfJson } from "./entryView.js";
import { eventHead } from "./event.js";

const RAW_DATA = Buffer.from(',"raw_data":', "latin1");
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const CLOSE_BRACE = 0x7d;

/**
 * Writes `bytes[start, end)` as a JSON string (quotes included) at `out[off]`, escaped as
 * `JSON.stringify` would escape their text; returns the end, or -1 when the bytes are not text that
 * escaping `"` and `\\` alone renders exactly (a control character, or bytes that are not UTF-8: the
 * caller falls back to `JSON.stringify`). `out` must have room for `2 × (end - start) + 2` bytes.
 */
function writeJsonString(out: Buffer, off: number, bytes: Buffer, start: number, end: number): number {
  let o = off;
  let high = 0;
  out[o++] = QUOTE;
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b === QUOTE || b === BACKSLASH) out[o++] = BACKSLASH;
    else if (b < 0x20) return -1;
    high |= b;
    out[o++] = b;
  }
  if (high >= 0x80 && !isUtf8(bytes.subarray(start, end))) return -1;
  out[o++] = QUOTE;
  return o;
}

/** `out`, or a copy of its first `used` bytes in a buffer of at least `need` bytes. */
function withRoom(out: Buffer, used: number, need: number): Buffer {
  if (need <= out.length) return out;
  const bigger = Buffer.allocUnsafeSlow(Math.max(need, out.length * 2));
  out.copy(bigger, 0, 0, used);
  return bigger;
}

/**
 * Writes pages of OCSF events into one buffer it keeps: a page's events are 2–3 MB, and a fresh
 * buffer a page is external memory V8 answers with collections (the JSONL encoder keeps its buffer
 * for the same reason).
 */
export class OcsfPageEncoder {
  #out: Buffer = Buffer.allocUnsafeSlow(0);

  /**
   * The OCSF lines (each ending in a newline) of a page's JSONL (`JsonlPageEncoder.encodeLines`:
   * line i ends at `ends[i]`), each event's `metadata.uid` the key of its line's bytes: the same bytes
   * as joining `ocsfEventJsonOfLine(line, { entryId: lineKey(line) })` of each line. A view of this
   * encoder's buffer: valid until the next call.
   */
  encode(jsonl: Buffer, ends: readonly number[]): Buffer {
    // An event is its head (about the line's size) and the line escaped: 3× the page is room enough mostly.
    let out = withRoom(this.#out, 0, jsonl.length * 3 + 4096);
    let off = 0;
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i] as number;
      // Parsing the line back measured cheaper than decoding the entry from its reply (bench/notes.md).
      const view = viewOfJson(JSON.parse(jsonl.toString("utf8", start, end)) as Record<string, unknown>);
      const head = eventHead(view, { entryId: lineBytesKey(jsonl, start, end) });
      // UTF-8 of the head is at most 3 bytes a UTF-16 unit; the escaped line at most twice its bytes.
      out = withRoom(out, off, off + head.length * 3 + (end - start) * 2 + RAW_DATA.length + 8);
      off += out.write(head, off, "utf8");
      off += RAW_DATA.copy(out, off);
      const after = writeJsonString(out, off, jsonl, start, end);
      if (after >= 0) off = after;
      else {
        const quoted = JSON.stringify(jsonl.toString("utf8", start, end));
        out = withRoom(out, off, off + quoted.length * 3 + 2);
        off += out.write(quoted, off, "utf8");
      }
      out[off++] = CLOSE_BRACE;
      out[off++] = NEWLINE;
      start = end + 1;
    }
    this.#out = out;
    return out.subarray(0, off);
  }
}

/** {@link OcsfPageEncoder.encode} into a buffer of its own. */
export function ocsfLinesOfJsonl(jsonl: Buffer, ends: readonly number[]): Buffer {
  return new OcsfPageEncoder().encode(jsonl, ends);
}
