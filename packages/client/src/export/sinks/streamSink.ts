/**
 * The stream sink: writes an export to a stream the sink does not own (`export --out -`: stdout),
 * in the same bytes as the file sink (batchText.ts). A stream keeps nothing to resume from: `open`
 * always starts a new walk, nothing is written to disk, and an interrupted run leaves the reader
 * what was written so far (a JSON array then lacks its closing bracket). Each batch is handed over
 * only once the stream has taken the previous one (its write callback): that is the backpressure,
 * and what makes reusing the JSONL encoder's buffer safe. A stream that is a terminal is read by
 * eyes: entry text reaches it with its control characters escaped, as every CLI output does
 * (domain/terminalText.ts); anything else gets the exact bytes.
 */
import { createHash } from "node:crypto";
import type { Writable } from "node:stream";
import { ClarifaiAuditError } from "../../domain/errors.js";
import { terminalSafeJson, terminalSafeLines } from "../../domain/terminalText.js";
import type { DataFormat } from "../formats.js";
import type { ExportBatch, ExportCursor, ExportSink } from "../sink.js";
import { BatchText } from "./batchText.js";
import type { FileSinkResult } from "./fileSink.js";

/** Options of {@link StreamSink}. */
export interface StreamSinkOptions {
  /** Where the export goes; never ended by the sink (stdout outlives the export). */
  stream: Writable;
  format: DataFormat;
}

/** The stream went away before the export was written (a destroyed or ended stream). */
export class StreamClosedError extends ClarifaiAuditError {
  override name = "StreamClosedError";
  constructor() {
    super("the output stream is closed");
  }
}

/** An {@link ExportSink} writing one export (jsonl, csv or json) to a stream; never resumable. */
export class StreamSink implements ExportSink {
  readonly #stream: Writable;
  readonly #text: BatchText;
  readonly #hash = createHash("sha256");
  #bytes = 0;
  /** On a terminal: what makes the format's text safe to show; elsewhere undefined (exact bytes). */
  readonly #safe: ((text: string) => string) | undefined;

  constructor(options: StreamSinkOptions) {
    this.#stream = options.stream;
    this.#text = new BatchText(options.format);
    if ((options.stream as { isTTY?: boolean }).isTTY)
      this.#safe = options.format === "csv" ? terminalSafeLines : terminalSafeJson;
  }

  /** Bytes and SHA-256 of what was written so far (the same figures a file export reports). */
  get result(): FileSinkResult {
    return { bytes: this.#bytes, sha256: this.#hash.copy().digest("hex") };
  }

  /** A new walk, always: a stream holds no cursor. */
  async open(): Promise<ExportCursor | undefined> {
    return undefined;
  }

  async start(): Promise<void> {
    await this.#put(this.#text.header());
  }

  async write(batch: ExportBatch): Promise<void> {
    await this.#put(this.#text.batch(batch));
  }

  async close(outcome: { complete: boolean }): Promise<void> {
    if (outcome.complete) await this.#put(this.#text.footer());
  }

  /** Writes `chunk` and resolves once the stream has taken it (rejects with the stream's error). */
  async #put(chunk: string | Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) throw new StreamClosedError();
    const safe = this.#safe;
    const text =
      safe === undefined
        ? chunk
        : safe(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    const buf = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    await new Promise<void>((resolve, reject) => {
      stream.write(buf, (error) => (error ? reject(error) : resolve()));
    });
    this.#hash.update(buf);
    this.#bytes += buf.length;
  }
}
