import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { MultiAuditLogEntryResponse } from "../../generated/proto/clarifai/api/service.js";
import { Status } from "../../generated/proto/clarifai/api/status/status.js";
import { fastMessageDesc } from "../../src/fast/descriptors.js";
import { auditLogEntriesBytesToJsonl } from "../../src/fast/jsonTranscoder.js";
import { splitSearchReply } from "../../src/fast/replyBytes.js";
import { auditLogEntryToJson } from "../../src/protoJson.js";
import { type Outcome, outcome, WireArbitraries } from "./wireArbitrary.js";

/** What the exporter sees of a reply through the split path: status, timestamps, JSONL. */
function viaBytes(bytes: Uint8Array): Outcome<string> {
  return outcome(() => {
    const r = splitSearchReply(bytes);
    const jsonl = auditLogEntriesBytesToJsonl(r.entries.map((e) => e.bytes)).toString("utf8");
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

/** A reply whose entries keep their exact wire bytes (duplicates, unknown fields, field order). */
function reply(entries: Uint8Array[]): Buffer {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(
    Status.encode(Status.fromPartial({ code: 10000, description: "Ok", reqId: "r" })).finish(),
  );
  for (const e of entries) w.tag(2, WireType.LengthDelimited).bytes(e);
  return Buffer.from(w.finish());
}

const entryDesc = fastMessageDesc("clarifai.api.AuditLogEntry");

describe("reply split into entry bytes (src/fast/replyBytes.ts)", () => {
  it("yields ts-proto's status and timestamps, and the reference JSONL, for wild entries", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: true, sparse: 2 });
    fc.assert(
      fc.property(fc.array(arbs.bytes(entryDesc), { maxLength: 4 }), (entries) => {
        const bytes = reply(entries);
        expect(viaBytes(bytes)).toEqual(viaObjects(bytes));
      }),
      { numRuns: 150 },
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
          const bytes = reply(entries);
          const cut = bytes.subarray(0, at % (bytes.length + 1));
          expect(viaBytes(cut)).toEqual(viaObjects(cut));
        },
      ),
      { numRuns: 300 },
    );
  });
});
