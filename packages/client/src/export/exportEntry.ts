/**
 * The engine's {@link ExportEntry}: an entry's protobuf bytes with lazy, cached views (JSON line,
 * dedupe key, decoded object), so a sink pays only for the form it writes.
 */
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { auditLogEntryBytesToJson, type RawEntry } from "../codec/index.js";
import { lineKey } from "../domain/entryKey.js";
import type { Timestamp } from "../domain/time.js";
import type { ExportEntry, ExportEntryRange } from "./sink.js";

const EPOCH: Timestamp = Object.freeze({ seconds: 0, nanos: 0 });

/**
 * An entry as a range of the buffer that holds it (a reply, shared by its page), so the engine holds
 * one small object per entry and byte-level encoders read the range directly.
 */
class RangeEntry implements ExportEntry, ExportEntryRange {
  #json: string | undefined;
  #key: string | undefined;
  constructor(
    readonly source: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly timestamp: Timestamp,
  ) {}
  get bytes(): Uint8Array {
    return this.source.subarray(this.start, this.end);
  }
  json(): string {
    this.#json ??= auditLogEntryBytesToJson(this.bytes);
    return this.#json;
  }
  key(): string {
    this.#key ??= lineKey(this.json());
    return this.#key;
  }
  decode(): AuditLogEntry {
    return AuditLogEntry.decode(this.bytes);
  }
}

/** The engine's entries: an {@link ExportEntry} that is also its byte range. */
export type EngineEntry = ExportEntry & ExportEntryRange;

/** An {@link ExportEntry} over serialized `AuditLogEntry` bytes (the timestamp is read from them when not given). */
export function exportEntryFromBytes(bytes: Uint8Array, timestamp?: Timestamp): ExportEntry {
  const ts = timestamp ?? AuditLogEntry.decode(bytes).timestamp ?? EPOCH;
  return new RangeEntry(bytes, 0, bytes.length, ts);
}

/** An {@link ExportEntry} for one entry of a split reply (it is also that entry's byte range). */
export function exportEntryFromRaw(raw: RawEntry): EngineEntry {
  return new RangeEntry(raw.source, raw.start, raw.end, raw.timestamp ?? EPOCH);
}

/** An {@link ExportEntry} for a decoded entry (tests, replays of JSON exports). */
export function exportEntryFromMessage(entry: AuditLogEntry): ExportEntry {
  const bytes = AuditLogEntry.encode(entry).finish();
  return new RangeEntry(bytes, 0, bytes.length, entry.timestamp ?? EPOCH);
}
