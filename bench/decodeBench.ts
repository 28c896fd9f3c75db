/** Part 1: decode of a MultiAuditLogEntryResponse page, ours vs the official paths. */

import { decodeSearchResponse } from "@clarifai-audit/client/internal/codec/searchCodec.js";
import { MultiAuditLogEntryResponse } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import { benchEntries, pageBytes } from "./entries.js";
import { compare, type Measured, median } from "./measure.js";
import { officialGoogleProtobuf, officialProtoLoaderDeserialize, protobufjsDecodeOnly } from "./official.js";

export interface Rate {
  name: string;
  entriesPerSec: number;
  mbPerSec: number;
  /** Median microseconds per page. */
  usPerPage: number;
  /** Seconds per page in each round (same order for every contender). */
  samples: number[];
}

export function toRates(measured: Measured[], entries: number, bytes: number): Rate[] {
  return measured.map((m) => ({
    name: m.name,
    entriesPerSec: entries / m.seconds,
    mbPerSec: bytes / m.seconds / 1e6,
    usPerPage: m.seconds * 1e6,
    samples: m.samples,
  }));
}

/**
 * Speed of `a` relative to `b`: the median over rounds of b's time / a's time in the same round,
 * which cancels most of the drift a shared, busy machine adds between rounds.
 */
export function pairedRatio(a: Rate, b: Rate): number {
  return median(a.samples.map((s, i) => (b.samples[i] as number) / s));
}

export interface DecodeResult {
  pageSize: number;
  pageBytes: number;
  rates: Rate[];
}

export function decodeBench(pageSize: number, rounds: number, sliceMs: number): DecodeResult {
  const bytes = pageBytes(benchEntries(pageSize, pageSize));
  const protoLoader = officialProtoLoaderDeserialize();
  const googlePb = officialGoogleProtobuf();
  const pbjs = protobufjsDecodeOnly();
  const measured = compare(
    [
      {
        name: "ours: decodeSearchResponse (packages/client/src/codec/searchCodec.ts, ts-proto)",
        run: () => decodeSearchResponse(bytes),
      },
      {
        name: "ts-proto MultiAuditLogEntryResponse.decode",
        run: () => MultiAuditLogEntryResponse.decode(bytes),
      },
      {
        name: "official ClarifaiStub.grpc() (proto-loader responseDeserialize)",
        run: () => protoLoader(bytes),
      },
      { name: "official google-protobuf deserializeBinary + toObject", run: () => googlePb(bytes) },
      { name: "protobufjs Type.decode only", run: () => pbjs(bytes) },
    ],
    rounds,
    sliceMs,
  );
  return { pageSize, pageBytes: bytes.length, rates: toRates(measured, pageSize, bytes.length) };
}
