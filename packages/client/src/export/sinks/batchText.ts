/**
 * The bytes of an export in one format, batch by batch: what every byte-writing sink (the file
 * sink's `FILE.partial`, the stream sink's stdout) writes, so that the same window gives the same
 * bytes wherever it goes. JSONL takes the byte-level path when the engine walked raw replies.
 */
import { decodeAuditLogEntry, JsonlPageEncoder } from "../../codec/index.js";
import { OcsfPageEncoder } from "../../ocsf/lines.js";
import { type DataFormat, formatEntries, formatFooter, formatHeader, ocsfLines } from "../formats.js";
import type { ExportBatch } from "../sink.js";

/** Turns batches into the text of one export file of `format`, counting the entries written. */
export class BatchText {
  // Safe to reuse: each page is written (awaited) before the next one is encoded.
  readonly #jsonl = new JsonlPageEncoder();
  readonly #ocsf = new OcsfPageEncoder();

  /** `entries`: how many entries the output already holds (a resumed file's). */
  constructor(
    readonly format: DataFormat,
    public entries = 0,
  ) {}

  /** What opens the output. */
  header(): string {
    return formatHeader(this.format);
  }

  /** The batch's text (empty for an empty batch); counts its entries. */
  batch(batch: ExportBatch): string | Uint8Array {
    const n = batch.entries.length;
    if (n === 0) return "";
    const before = this.entries;
    this.entries += n;
    if (this.format === "jsonl") {
      return batch.raw !== undefined
        ? this.#jsonl.encode(batch.raw)
        : `${batch.entries.map((e) => e.json()).join("\n")}\n`;
    }
    if (this.format === "ocsf") {
      if (batch.raw === undefined) return ocsfLines(batch.entries);
      // The page's JSON lines at the byte-level path's speed (raw_data, the keys), and each entry
      // decoded for the rest of its event (cheaper than parsing its line back: bench/notes.md).
      const ends: number[] = [];
      const jsonl = this.#jsonl.encodeLines(batch.raw, ends);
      return this.#ocsf.encode(jsonl, ends);
    }
    const decoded =
      batch.raw !== undefined
        ? batch.raw.map((r) => decodeAuditLogEntry(r.source, r.start, r.end))
        : batch.entries.map((e) => e.decode());
    return formatEntries(this.format, decoded, before);
  }

  /** What closes the output (after every entry). */
  footer(): string {
    return formatFooter(this.format, this.entries);
  }
}
