import fc from "fast-check";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../packages/client/generated/proto/clarifai/api/service.js";
import {
  auditLogEntriesBytesToJsonl,
  JsonlPageEncoder,
} from "../../packages/client/src/codec/jsonlTranscoder.js";
import { messageDesc } from "../../packages/client/src/codec/registry.js";
import { fastEntryTimestamp, splitSearchReply } from "../../packages/client/src/codec/replyBytes.js";
import { auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { generateEntries } from "../../packages/emulator/src/generate.js";
import { type Outcome, outcome, replyOf, runs, WireArbitraries } from "./wireArbitrary.js";

// One encoder for every run, as the exporter keeps one for a whole export: pages of every size go
// through the same reused buffer.
const pageEncoder = new JsonlPageEncoder();

/** What the exporter sees of a reply through the split path: status, timestamps, JSONL. */
function viaBytes(bytes: Uint8Array): Outcome<string> {
  return outcome(() => {
    const r = splitSearchReply(bytes);
    const jsonl = pageEncoder.encode(r.entries).toString("utf8");
    // The entries' own bytes, transcoded one by one, print the same lines.
    const perEntry = auditLogEntriesBytesToJsonl(r.entries.map((e) => e.bytes)).toString("utf8");
    if (perEntry !== jsonl) return `encoder and per-entry paths differ: ${jsonl} vs ${perEntry}`;
    return JSON.stringify([r.status ?? null, r.entries.map((e) => e.timestamp ?? null), jsonl]);
  });
}

/** The same through ts-proto decode and the reference printer. */
function viaObjects(bytes: Uint8Array): Outcome<string> {
  return outcome(() => {
    const r = MultiAuditLogEntryResponse.decode(bytes);
    const jsonl = r.entries.map((e) => `${JSON.stringify(auditLogEntryToJson(e))}\n`).join("");
    return JSON.stringify([r.status ?? null, r.entries.map((e) => e.timestamp ?? null), jsonl]);
  });
}

const entryDesc = messageDesc("clarifai.api.AuditLogEntry");

describe("reply split into entry bytes (packages/client/src/codec/replyBytes.ts)", () => {
  it("yields ts-proto's status and timestamps, and the reference JSONL, for wild entries", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: true, sparse: 2 });
    fc.assert(
      fc.property(fc.array(arbs.bytes(entryDesc), { maxLength: 4 }), (entries) => {
        const bytes = replyOf(entries);
        expect(viaBytes(bytes)).toEqual(viaObjects(bytes));
      }),
      { numRuns: runs(150) },
    );
  });

  // Corrupted bytes are not compared: a field-number-0 or end-group tag inside an entry makes
  // ts-proto stop that entry early and read the rest of it as reply fields, which splitting the reply
  // by its framing (as the protobuf spec does) does not reproduce.
  it("matches ts-proto on truncated replies (same result, or both throw)", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: false, sparse: 2 });
    fc.assert(
      fc.property(
        fc.array(arbs.bytes(entryDesc), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        (entries, at) => {
          const bytes = replyOf(entries);
          const cut = bytes.subarray(0, at % (bytes.length + 1));
          expect(viaBytes(cut)).toEqual(viaObjects(cut));
        },
      ),
      { numRuns: runs(300) },
    );
  });

  // Found by the property above (CI, seed -1292365191): after a timestamp, the reader skipped the
  // timestamp's length a second time and read a field of the User as the entry's timestamp.
  it("reads the timestamp of an entry whose timestamp is followed by more fields", () => {
    const entry = Uint8Array.from([
      10, 12, 8, 128, 128, 128, 128, 128, 1, 16, 128, 194, 215, 47, 18, 32, 186, 62, 7, 117, 110, 107, 110,
      111, 119, 110, 10, 0, 18, 0, 162, 1, 0, 202, 1, 0, 58, 0, 50, 0, 90, 0, 168, 1, 0, 176, 1, 0, 24, 0, 56,
      0, 66, 0,
    ]);
    const want = { seconds: 2 ** 35, nanos: 100_000_000 };
    expect(fastEntryTimestamp(entry)).toEqual(want);
    expect(splitSearchReply(replyOf([entry])).entries.map((e) => e.timestamp)).toEqual([want]);
  });

  // The split exists to skip ts-proto: a fallback that quietly handles every entry is still correct,
  // so the properties above cannot see it; this one can.
  it("takes every realistic entry on the fast path, with ts-proto's timestamp", () => {
    const entries = generateEntries(500, 7);
    for (const e of entries) {
      const bytes = AuditLogEntry.encode(e).finish();
      const ts = AuditLogEntry.decode(bytes).timestamp;
      expect(fastEntryTimestamp(bytes)).toEqual({ seconds: ts!.seconds, nanos: ts!.nanos });
    }
  });

  it("takes well-formed random entries with a non-negative timestamp on the fast path", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: false, sparse: 2 });
    fc.assert(
      fc.property(arbs.bytes(entryDesc), (bytes) => {
        const ts = AuditLogEntry.decode(bytes).timestamp;
        fc.pre(ts === undefined || ts.seconds >= 0);
        const fast = fastEntryTimestamp(bytes);
        expect(fast).toEqual(ts === undefined ? undefined : { seconds: ts.seconds, nanos: ts.nanos });
      }),
      { numRuns: runs(300) },
    );
  });

  it("encodes pages of growing and shrinking sizes through one reused buffer, as the exporter does", () => {
    const encoder = new JsonlPageEncoder();
    const all = generateEntries(1200, 11).map((e) => AuditLogEntry.encode(e).finish());
    for (const size of [3, 1000, 1, 0, 1200, 50]) {
      const entries = all.slice(0, size);
      const r = splitSearchReply(replyOf(entries));
      expect(r.entries.map((e) => Buffer.from(e.bytes))).toEqual(entries.map((b) => Buffer.from(b)));
      const want = entries.map((b) => `${JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(b)))}\n`);
      expect(encoder.encode(r.entries).toString("utf8")).toBe(want.join(""));
    }
  });

  it("encoders with their own transcoder, used by turns, never overwrite each other's lines", () => {
    const all = generateEntries(900, 12).map((e) => AuditLogEntry.encode(e).finish());
    const ranges = all.map((source) => ({ source, start: 0, end: source.byteLength }));
    const reference = (from: number, to: number) =>
      all
        .slice(from, to)
        .map((b) => `${JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(b)))}\n`)
        .join("");
    const a = new JsonlPageEncoder({ ownTranscoder: true });
    const b = new JsonlPageEncoder({ ownTranscoder: true });
    const ends: number[] = [];
    const first = a.encodeLines(ranges.slice(0, 400), ends);
    expect(ends).toHaveLength(400);
    // The shared transcoder and the other encoder run before the first result is read.
    const second = b.encodeLines(ranges.slice(400, 900), []);
    pageEncoder.encode(ranges.slice(0, 10));
    expect(first.toString("utf8")).toBe(reference(0, 400));
    expect(second.toString("utf8")).toBe(reference(400, 900));
    expect(first.subarray(0, ends[0]).toString("utf8")).toBe(reference(0, 1).trimEnd());
  });
});
