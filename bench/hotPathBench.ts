/** Part 2: the exporter's hot path, page bytes → JSONL / CSV text, per entry. */

import { entriesToJsonl, entryToJsonLine } from "@clarifai-audit/client/internal/codec/entryPrinter.js";
import { JsonlPageEncoder, transcodeStats } from "@clarifai-audit/client/internal/codec/jsonlTranscoder.js";
import { splitSearchReply } from "@clarifai-audit/client/internal/codec/replyBytes.js";
import { auditLogEntryToJson } from "@clarifai-audit/client/internal/codec/restJson.js";
import {
  decodeAuditLogEntry,
  decodeSearchResponse,
} from "@clarifai-audit/client/internal/codec/searchCodec.js";
import { formatEntries } from "@clarifai-audit/client/internal/export/formats.js";
import { MultiAuditLogEntryResponse } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import { type DecodeResult, toRates } from "./decodeBench.js";
import { benchEntries, pageBytes } from "./entries.js";
import { compare } from "./measure.js";
import { officialProtoLoaderDeserialize } from "./official.js";

export const BASELINE = "baseline: ts-proto decode + JSON.stringify per entry";

function joinLines(lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

export function hotPathBench(
  pageSize: number,
  rounds: number,
  sliceMs: number,
): DecodeResult & { fallbacks: number } {
  const bytes = pageBytes(benchEntries(pageSize, pageSize + 1));
  const protoLoader = officialProtoLoaderDeserialize();
  const fallbackBefore = transcodeStats.fallback;
  // Sanity: every path prints the same lines before anything is timed.
  const ref = joinLines(
    MultiAuditLogEntryResponse.decode(bytes).entries.map((e) => JSON.stringify(auditLogEntryToJson(e))),
  );
  // What `clarifai-audit export` does with a reply: split it into entry ranges (the walk needs their
  // timestamps), then transcode the page (JSONL) or decode it one entry at a time (csv, json).
  const encoder = new JsonlPageEncoder();
  const exportJsonl = () => encoder.encode(splitSearchReply(bytes).entries);
  const exportCsv = () =>
    formatEntries(
      "csv",
      splitSearchReply(bytes).entries.map((e) => decodeAuditLogEntry(e.source, e.start, e.end)),
      0,
    );
  if (exportJsonl().toString("utf8") !== ref) throw new Error("transcoder output differs");
  if (exportCsv() !== formatEntries("csv", decodeSearchResponse(bytes).entries, 0))
    throw new Error("csv from entry ranges differs");
  if (joinLines(decodeSearchResponse(bytes).entries.map(entryToJsonLine)) !== ref)
    throw new Error("entryToJsonLine differs");
  const measured = compare(
    [
      {
        name: BASELINE,
        run: () => joinLines(MultiAuditLogEntryResponse.decode(bytes).entries.map((e) => JSON.stringify(e))),
      },
      {
        name: "reference: ts-proto decode + JSON.stringify(auditLogEntryToJson) (protoJson)",
        run: () =>
          joinLines(
            MultiAuditLogEntryResponse.decode(bytes).entries.map((e) =>
              JSON.stringify(auditLogEntryToJson(e)),
            ),
          ),
      },
      {
        name: "official proto-loader decode + JSON.stringify per entry",
        run: () =>
          joinLines((protoLoader(bytes) as { entries: unknown[] }).entries.map((e) => JSON.stringify(e))),
      },
      {
        name: "ours: decodeSearchResponse + entryToJsonLine (object path)",
        run: () => joinLines(decodeSearchResponse(bytes).entries.map(entryToJsonLine)),
      },
      {
        name: "ours: decodeSearchResponse + entriesToJsonl (batch object path)",
        run: () => entriesToJsonl(decodeSearchResponse(bytes).entries),
      },
      {
        name: "ours: splitSearchReply + JsonlPageEncoder (the exporter's JSONL path)",
        run: exportJsonl,
      },
      {
        name: "ours: splitSearchReply + decodeAuditLogEntry + formatEntries(csv) (the exporter's csv path)",
        run: exportCsv,
      },
    ],
    rounds,
    sliceMs,
  );
  return {
    pageSize,
    pageBytes: bytes.length,
    rates: toRates(measured, pageSize, bytes.length),
    fallbacks: transcodeStats.fallback - fallbackBefore,
  };
}
