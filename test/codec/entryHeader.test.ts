import fc from "fast-check";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryHeaderFields, fastEntryHeader } from "../../packages/client/src/codec/entryHeader.js";
import { messageDesc } from "../../packages/client/src/codec/registry.js";
import { generateEntries } from "../../packages/emulator/src/generate.js";
import { outcome, runs, WireArbitraries } from "./wireArbitrary.js";

const entryDesc = messageDesc("clarifai.api.AuditLogEntry");

/** What ts-proto decodes of the three fields (or that it throws). */
const viaDecode = (bytes: Uint8Array) =>
  outcome(() => {
    const e = AuditLogEntry.decode(bytes);
    return { operation: e.operation, success: e.success, reqId: e.reqId };
  });

describe("entry header fields from bytes (packages/client/src/codec/entryHeader.ts)", () => {
  it("reads operation, success and req_id as ts-proto decodes them, for wild entry bytes", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: true, sparse: 2 });
    fc.assert(
      fc.property(arbs.bytes(entryDesc), (bytes) => {
        const want = viaDecode(bytes);
        // Bytes ts-proto refuses are never handed to a store (the walk decodes them first).
        if ("ok" in want) expect(entryHeaderFields(bytes)).toEqual(want.ok);
      }),
      { numRuns: runs(400) },
    );
  });

  it("takes the fast path for every generated entry, with ts-proto's values", () => {
    for (const e of generateEntries(500, 3)) {
      const bytes = AuditLogEntry.encode(e).finish();
      expect(fastEntryHeader(bytes)).toEqual({ operation: e.operation, success: e.success, reqId: e.reqId });
    }
  });

  it("hands what it does not read as ts-proto does to ts-proto", () => {
    // success as a 2-byte varint (true), a negative operation (10 bytes), tag 0 after the fields.
    const longBool = Uint8Array.from([0x38, 0x81, 0x00]);
    const negativeOp = AuditLogEntry.encode({ ...AuditLogEntry.fromPartial({}), operation: -1 }).finish();
    const tagZero = Uint8Array.from([
      ...AuditLogEntry.encode(AuditLogEntry.fromPartial({ reqId: "r" })).finish(),
      0,
    ]);
    for (const bytes of [longBool, negativeOp, tagZero]) {
      expect(fastEntryHeader(bytes)).toBe("slow");
      const e = AuditLogEntry.decode(bytes);
      expect(entryHeaderFields(bytes)).toEqual({
        operation: e.operation,
        success: e.success,
        reqId: e.reqId,
      });
    }
  });
});
