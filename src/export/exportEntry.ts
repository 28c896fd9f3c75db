/**
 * The engine's {@link ExportEntry}: an entry's protobuf bytes with lazy, cached views (JSON line,
 * dedupe key, decoded object), so a sink pays only for the form it writes.
 */
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { auditLogEntryBytesToJson, type RawEntry } from "../codec/index.js";
import { lineKey } from "../domain/entryKey.js";
import type { Timestamp } from "../domain/time.js";
import type { ExportEntry } from "./sink.js";

const EPOCH: Timestamp = Object.freeze({ seconds: 0, nanos: 0 });

class BytesEntry implements ExportEntry {
  #json: string | undefined;
  #key: string | undefined;
  constructor(
    readonly bytes: Uint8Array,
    readonly timestamp: Timestamp,
  ) {}
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

/** An {@link ExportEntry} over serialized `AuditLogEntry` bytes (the timestamp is read from them when not given). */
export function exportEntryFromBytes(bytes: Uint8Array, timestamp?: Timestamp): ExportEntry {
  const ts = timestamp ?? AuditLogEntry.decode(bytes).timestamp ?? EPOCH;
  return new BytesEntry(bytes, ts);
}

/** An {@link ExportEntry} for one entry of a split reply. */
export function exportEntryFromRaw(raw: RawEntry): ExportEntry {
  return new BytesEntry(raw.bytes, raw.timestamp ?? EPOCH);
}

/** An {@link ExportEntry} for a decoded entry (tests, replays of JSON exports). */
export function exportEntryFromMessage(entry: AuditLogEntry): ExportEntry {
  return new BytesEntry(AuditLogEntry.encode(entry).finish(), entry.timestamp ?? EPOCH);
}
