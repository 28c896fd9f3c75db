import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../generated/proto/clarifai/api/service.js";
import { Status } from "../../generated/proto/clarifai/api/status/status.js";
import { decodeAuditLogEntryFast, decoderStats, decodeSearchResponseFast } from "../../src/codec/decoder.js";
import { fastMessageDesc } from "../../src/codec/descriptors.js";
import { splitSearchReply } from "../../src/codec/replyBytes.js";
import { outcome, replyOf, runs, WireArbitraries } from "./wireArbitrary.js";

const entryDesc = fastMessageDesc("clarifai.api.AuditLogEntry");
function check(bytes: Uint8Array): void {
  const ours = outcome(() => decodeSearchResponseFast(bytes));
  const theirs = outcome(() => MultiAuditLogEntryResponse.decode(bytes));
  expect(ours).toStrictEqual(theirs);
}

describe("generated decoder (src/codec/decoder.ts)", () => {
  it("decodes every field but maps and Struct itself, strictly equal to ts-proto (depth 4)", () => {
    const arbs = new WireArbitraries({ depth: 4, wild: false, sparse: 1, fastOnly: true });
    const before = decoderStats.fallback;
    fc.assert(
      fc.property(fc.array(arbs.bytes(entryDesc), { maxLength: 4 }), fc.boolean(), (entries, asBuffer) => {
        check(replyOf(entries, asBuffer));
      }),
      { numRuns: runs(200) },
    );
    expect(decoderStats.fallback - before).toBe(0);
  });

  it("equals ts-proto on random entries with maps and Struct, and on rare wire shapes", () => {
    const plain = new WireArbitraries({ depth: 3, wild: false, sparse: 2 });
    const wild = new WireArbitraries({ depth: 2, wild: true, sparse: 2 });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(plain.bytes(entryDesc), wild.bytes(entryDesc)), { maxLength: 4 }),
        fc.boolean(),
        (entries, asBuffer) => {
          check(replyOf(entries, asBuffer));
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it("equals ts-proto on truncated and corrupted responses", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: false, sparse: 2 });
    fc.assert(
      fc.property(
        fc.array(arbs.bytes(entryDesc), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.nat(255),
        (entries, at, value) => {
          const bytes = replyOf(entries);
          check(bytes.subarray(0, at % (bytes.length + 1)));
          const bad = Buffer.from(bytes);
          bad[at % bad.length] = value;
          check(bad);
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it("decodes a realistic page without handing anything to ts-proto", () => {
    const entry = AuditLogEntry.fromPartial({
      timestamp: { seconds: 1737115495, nanos: 449860000 },
      user: {
        id: "alfrick",
        firstName: "Alfrick",
        createdAt: { seconds: 1704951406, nanos: 977773000 },
        visibility: { gettable: 10 },
      },
      operation: 403,
      description: "Workflow versions created",
      targets: [{ workflow: { id: "w", useCases: [], checkConsents: [] } }, { app: { id: "testapp1" } }],
      details: ["Create workflow version 'a72a'"],
      success: true,
      reqId: "webportal-74e9",
      sourceIp: "3.234.120.41",
    });
    const bytes = MultiAuditLogEntryResponse.encode({
      status: Status.fromPartial({ code: 10000 }),
      entries: [entry, entry],
    }).finish();
    const before = { ...decoderStats };
    expect(decodeSearchResponseFast(bytes)).toStrictEqual(MultiAuditLogEntryResponse.decode(bytes));
    expect(decoderStats.fast - before.fast).toBe(2);
    expect(decoderStats.fallback).toBe(before.fallback);
  });

  it("decodes strings with invalid UTF-8 exactly like ts-proto's TextDecoder", () => {
    const bad = fc.uint8Array({ minLength: 0, maxLength: 12 }).map((b) => {
      const w = new BinaryWriter();
      w.tag(4, WireType.LengthDelimited).bytes(b); // description: raw bytes, often not UTF-8
      w.tag(9, WireType.LengthDelimited).bytes(Uint8Array.from([0xef, 0xbb, 0xbf, ...b])); // leading BOM
      return w.finish();
    });
    fc.assert(
      fc.property(fc.array(bad, { maxLength: 3 }), (entries) => {
        check(replyOf(entries));
      }),
      { numRuns: runs(300) },
    );
  });

  // The csv/json exports decode each entry from its range of the reply, one page at a time.
  it("decodes one entry from its range of a reply, strictly equal to ts-proto (or both throw)", () => {
    const plain = new WireArbitraries({ depth: 3, wild: false, sparse: 2 });
    const wild = new WireArbitraries({ depth: 2, wild: true, sparse: 2 });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(plain.bytes(entryDesc), wild.bytes(entryDesc)), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (entries, asBuffer) => {
          const reply = replyOf(entries, asBuffer);
          const split = outcome(() => splitSearchReply(reply));
          if (!("ok" in split)) return;
          for (const e of split.ok.entries) {
            expect(outcome(() => decodeAuditLogEntryFast(e.source, e.start, e.end))).toStrictEqual(
              outcome(() => AuditLogEntry.decode(e.bytes)),
            );
          }
        },
      ),
      { numRuns: runs(200) },
    );
  });
});
