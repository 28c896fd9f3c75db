/**
 * Protobuf bytes of `AuditLogEntry`s → their JSON lines, with no intermediate objects: what
 * `clarifai-audit export` writes JSONL pages with.
 *
 * The reference is `JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes)))` (ts-proto
 * decode, then packages/client/src/codec/restJson.ts), which builds three object trees per entry; the generated
 * transcoder (packages/client/src/codec/jsonlTranscoderSource.ts) reads the wire bytes once and writes UTF-8 JSON
 * into a reusable buffer. An entry it gives up on is printed by the reference path instead, so the
 * output is always byte-identical to the reference (test/codec/jsonTranscoder.test.ts).
 */
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../generated/proto/clarifai/api/service.js";
import type { Status } from "../../generated/proto/clarifai/api/status/status.js";
import { FALLBACK, type JsonlTranscoder, jsonlTranscoderCode } from "./jsonlTranscoderSource.js";
import { walkReplyFraming } from "./replyBytes.js";
import { auditLogEntryToJson } from "./restJson.js";

let compiledOnce: JsonlTranscoder | undefined;
/** The generated transcoder, compiled on first use: `search` and `tail` never need it. */
function transcoder(): JsonlTranscoder {
  compiledOnce ??= jsonlTranscoderCode().compile<JsonlTranscoder>();
  return compiledOnce;
}

/**
 * Compiles the transcoder now (tens of milliseconds) instead of on the first page: the exporter
 * calls it while its first requests are on the network.
 */
export function prepareJsonTranscoder(): void {
  transcoder();
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const encoder = new TextEncoder();

/** The reference printer for raw entry bytes: ts-proto decode, then protoJson. */
function referenceEntryJson(bytes: Uint8Array): string {
  return JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes)));
}

/** Entries printed by the generated code, and entries/replies printed by the reference path. */
export const transcodeStats = { fast: 0, fallback: 0 };

/** Appends one entry's JSON (no newline) to the shared output; returns nothing, throws as the reference does. */
function appendEntry(compiled: JsonlTranscoder, src: Buffer, start: number, end: number): void {
  try {
    compiled.entry(src, start, end);
    transcodeStats.fast++;
  } catch (e) {
    if (e !== FALLBACK) throw e;
    compiled.rollback();
    transcodeStats.fallback++;
    const line = referenceEntryJson(src.subarray(start, end));
    const bytes = encoder.encode(line);
    compiled.append(bytes, bytes.length === line.length);
  }
}

/**
 * One serialized `AuditLogEntry` → its JSON line (no trailing newline), byte-identical to
 * `JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes)))`.
 */
export function auditLogEntryBytesToJson(bytes: Uint8Array): string {
  const compiled = transcoder();
  compiled.clear();
  appendEntry(compiled, asBuffer(bytes), 0, bytes.byteLength);
  return compiled.text();
}

/**
 * Serialized `AuditLogEntry`s → their JSON lines, each ending in "\n", as one fresh UTF-8 Buffer:
 * the concatenation of {@link auditLogEntryBytesToJson} of each plus a newline.
 */
export function auditLogEntriesBytesToJsonl(entries: readonly Uint8Array[]): Buffer {
  const compiled = transcoder();
  appendLines(
    compiled,
    entries.map((source) => ({ source, start: 0, end: source.byteLength })),
  );
  return compiled.copy();
}

/** Where one serialized `AuditLogEntry` is: `source[start, end)` (e.g. a range of a reply). */
export interface EntryRange {
  readonly source: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** Empties the output, then appends each entry's JSON line and a newline. */
function appendLines(compiled: JsonlTranscoder, entries: readonly EntryRange[]): void {
  compiled.clear();
  for (const e of entries) {
    appendEntry(compiled, asBuffer(e.source), e.start, e.end);
    compiled.append(NEWLINE, true);
  }
}

/**
 * Transcodes page after page of entry ranges to JSONL into one buffer it keeps and reuses.
 *
 * A long export transcodes a thousand pages of about a megabyte each: a fresh Buffer per page is an
 * ArrayBuffer the GC frees late (V8 collects external memory lazily), which is what an export's
 * peak RSS is made of. Reusing one buffer leaves nothing behind per page.
 */
export class JsonlPageEncoder {
  #out: Buffer = Buffer.alloc(0);
  /** Its own transcoder, when asked for one (see the constructor). */
  readonly #own: JsonlTranscoder | undefined;

  /**
   * With `ownTranscoder`, the encoder compiles a transcoder of its own (tens of milliseconds) and
   * returns views of that transcoder's buffer: no copy, and encoders used side by side (commits in
   * flight) do not share one. Otherwise it shares the module's and copies its output.
   */
  constructor(options: { ownTranscoder?: boolean } = {}) {
    this.#own = options.ownTranscoder ? jsonlTranscoderCode().compile<JsonlTranscoder>() : undefined;
  }

  /**
   * The entries' JSON lines, each ending in "\n" (the same bytes as
   * {@link auditLogEntriesBytesToJsonl}), as a view into this encoder's buffer: valid until the
   * next call, so write it out before encoding the next page.
   */
  encode(entries: readonly EntryRange[]): Buffer {
    const compiled = this.#own ?? transcoder();
    appendLines(compiled, entries);
    return this.#output(compiled);
  }

  /**
   * As {@link encode}, and sets `ends[i]` to where entry i's line ends (before its newline): line i
   * is `[i === 0 ? 0 : ends[i - 1] + 1, ends[i])` of the result.
   */
  encodeLines(entries: readonly EntryRange[], ends: number[]): Buffer {
    const compiled = this.#own ?? transcoder();
    compiled.clear();
    ends.length = entries.length;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as EntryRange;
      appendEntry(compiled, asBuffer(e.source), e.start, e.end);
      ends[i] = compiled.size();
      compiled.append(NEWLINE, true);
    }
    return this.#output(compiled);
  }

  #output(compiled: JsonlTranscoder): Buffer {
    if (compiled === this.#own) return compiled.view();
    const n = compiled.size();
    if (this.#out.length < n) this.#out = Buffer.allocUnsafeSlow(Math.max(n, 2 * this.#out.length));
    compiled.copyTo(this.#out);
    return this.#out.subarray(0, n);
  }
}

/** A `MultiAuditLogEntryResponse` transcoded to JSONL without decoding its entries to objects. */
export interface JsonlPage {
  /** The reply's status (decoded), or undefined when the reply has none. */
  status: Status | undefined;
  /** Number of entries in the page. */
  count: number;
  /** One JSON line per entry, each ending in "\n" (UTF-8); a fresh copy the caller owns. */
  jsonl: Buffer;
}

/**
 * Serialized `MultiAuditLogEntryResponse` (the gRPC reply bytes) → status + JSONL of its entries.
 * Each line is byte-identical to the reference printing of the entry ts-proto decodes from the
 * reply; a reply with anything the generated code does not handle is decoded and printed that way.
 */
export function searchResponseBytesToJsonl(bytes: Uint8Array): JsonlPage {
  const compiled = transcoder();
  const src = asBuffer(bytes);
  compiled.clear();
  let count = 0;
  const framed = walkReplyFraming(src, (start, end) => {
    try {
      compiled.entry(src, start, end);
    } catch (err) {
      if (err !== FALLBACK) throw err;
      return false;
    }
    transcodeStats.fast++;
    compiled.append(NEWLINE, true);
    count++;
    return true;
  });
  if (framed === undefined) return slowPage(bytes);
  return { status: framed.status, count, jsonl: compiled.copy() };
}

const NEWLINE = new Uint8Array([10]);

/** The reference path for a whole reply: ts-proto decode, then protoJson per entry. */
function slowPage(bytes: Uint8Array): JsonlPage {
  transcodeStats.fallback++;
  const r = MultiAuditLogEntryResponse.decode(bytes);
  const lines = r.entries.map((e) => `${JSON.stringify(auditLogEntryToJson(e))}\n`).join("");
  return { status: r.status, count: r.entries.length, jsonl: Buffer.from(lines, "utf8") };
}
