import { readFileSync } from "node:fs";
import fc from "fast-check";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../packages/client/generated/proto/clarifai/api/service.js";
import { Status } from "../../packages/client/generated/proto/clarifai/api/status/status.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import {
  auditLogEntryBytesToJson,
  searchResponseBytesToJsonl,
  transcodeStats,
} from "../../packages/client/src/codec/jsonlTranscoder.js";
import { messageDesc } from "../../packages/client/src/codec/registry.js";
import { auditLogEntryFromJson, auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { type Outcome, outcome, runs, WireArbitraries } from "./wireArbitrary.js";

/** The reference for raw entry bytes: ts-proto decode, then protoJson. */
function reference(bytes: Uint8Array): Outcome<string> {
  return outcome(() => JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes))));
}

const entryDesc = messageDesc("clarifai.api.AuditLogEntry");
const seedLines = readFileSync(new URL("../fixtures/seed-entries.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n");

describe("protobuf → JSON transcoder (src/codec/jsonTranscoder.ts)", () => {
  it("reprints the documentation's entries byte for byte", () => {
    for (const line of seedLines) {
      const entry = auditLogEntryFromJson(JSON.parse(line));
      expect(auditLogEntryBytesToJson(AuditLogEntry.encode(entry).finish())).toBe(line);
      expect(entryToJsonLine(entry)).toBe(line);
    }
  });

  it("prints every field but maps and Struct itself, equal to the reference (depth 4)", () => {
    const arbs = new WireArbitraries({ depth: 4, wild: false, sparse: 1, fastOnly: true });
    const before = transcodeStats.fallback;
    fc.assert(
      fc.property(arbs.bytes(entryDesc), (bytes) => {
        const ref = reference(bytes);
        expect(outcome(() => auditLogEntryBytesToJson(bytes))).toEqual(ref);
        if ("ok" in ref) expect(entryToJsonLine(AuditLogEntry.decode(bytes))).toBe(ref.ok);
      }),
      { numRuns: runs(300) },
    );
    expect(transcodeStats.fallback - before).toBe(0);
  });

  it("equals the reference on random entries (every field of the closure, depth 3)", () => {
    const arbs = new WireArbitraries({ depth: 3, wild: false, sparse: 2 });
    const before = { ...transcodeStats };
    fc.assert(
      fc.property(arbs.bytes(entryDesc), (bytes) => {
        const ref = reference(bytes);
        expect(outcome(() => auditLogEntryBytesToJson(bytes))).toEqual(ref);
        if ("ok" in ref) expect(entryToJsonLine(AuditLogEntry.decode(bytes))).toBe(ref.ok);
      }),
      { numRuns: runs(400) },
    );
    // The fast path must carry most entries, or this test proves little about it.
    const fast = transcodeStats.fast - before.fast;
    const slow = transcodeStats.fallback - before.fallback;
    expect(fast).toBeGreaterThan(slow);
  });

  it("equals the reference on rare wire shapes (duplicates, unknown fields, reordering, oneof clashes)", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: true, sparse: 2 });
    fc.assert(
      fc.property(arbs.bytes(entryDesc), (bytes) => {
        expect(outcome(() => auditLogEntryBytesToJson(bytes))).toEqual(reference(bytes));
      }),
      { numRuns: runs(300) },
    );
  });

  it("equals the reference on truncated and corrupted bytes", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: false, sparse: 2 });
    fc.assert(
      fc.property(arbs.bytes(entryDesc), fc.nat(), fc.nat(255), (bytes, at, value) => {
        const cut = bytes.subarray(0, at % (bytes.length + 1));
        expect(outcome(() => auditLogEntryBytesToJson(cut))).toEqual(reference(cut));
        if (bytes.length > 0) {
          const bad = Uint8Array.from(bytes);
          bad[at % bad.length] = value;
          expect(outcome(() => auditLogEntryBytesToJson(bad))).toEqual(reference(bad));
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it("transcodes a whole response to JSONL, one reference line per entry", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: false, sparse: 3 });
    fc.assert(
      fc.property(fc.array(arbs.bytes(entryDesc), { maxLength: 5 }), (entries) => {
        const decoded = entries.map((b) => AuditLogEntry.decode(b));
        const bytes = MultiAuditLogEntryResponse.encode({
          status: Status.fromPartial({ code: 10000, description: "Ok", reqId: "r" }),
          entries: decoded,
        }).finish();
        const page = searchResponseBytesToJsonl(bytes);
        expect(page.count).toBe(entries.length);
        expect(page.status?.code).toBe(10000);
        expect(page.jsonl.toString("utf8")).toBe(decoded.map((e) => `${entryToJsonLine(e)}\n`).join(""));
      }),
      { numRuns: runs(100) },
    );
  });

  it("transcodes truncated and corrupted replies exactly as ts-proto decode + reference would print them", () => {
    const arbs = new WireArbitraries({ depth: 2, wild: false, sparse: 2 });
    const page = (bytes: Uint8Array): Outcome<string> =>
      outcome(() => {
        const p = searchResponseBytesToJsonl(bytes);
        return JSON.stringify([p.status ?? null, p.count, p.jsonl.toString("utf8")]);
      });
    const referencePage = (bytes: Uint8Array): Outcome<string> =>
      outcome(() => {
        const r = MultiAuditLogEntryResponse.decode(bytes);
        const lines = r.entries.map((e) => `${JSON.stringify(auditLogEntryToJson(e))}\n`).join("");
        return JSON.stringify([r.status ?? null, r.entries.length, lines]);
      });
    fc.assert(
      fc.property(
        fc.array(arbs.bytes(entryDesc), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.nat(255),
        (entries, at, value) => {
          const bytes = Buffer.from(
            MultiAuditLogEntryResponse.encode({
              status: Status.fromPartial({ code: 10000, description: "Ok", reqId: "r" }),
              entries: entries.map((b) => AuditLogEntry.decode(b)),
            }).finish(),
          );
          const cut = bytes.subarray(0, at % (bytes.length + 1));
          expect(page(cut)).toEqual(referencePage(cut));
          const bad = Buffer.from(bytes);
          bad[at % bad.length] = value;
          expect(page(bad)).toEqual(referencePage(bad));
        },
      ),
      { numRuns: runs(300) },
    );
  });
});
