import { readFileSync } from "node:fs";
import fc from "fast-check";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import {
  entriesToJsonl,
  entryPrinterStats,
  entryToJsonLine,
} from "../../packages/client/src/codec/entryPrinter.js";
import { messageDesc } from "../../packages/client/src/codec/registry.js";
import { auditLogEntryFromJson, auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { type Outcome, outcome, runs, stringArb, timestampArb, WireArbitraries } from "./wireArbitrary.js";

const reference = (e: AuditLogEntry): Outcome<string> =>
  outcome(() => JSON.stringify(auditLogEntryToJson(e)));
const entryDesc = messageDesc("clarifai.api.AuditLogEntry");

/** ts-proto entries decoded from random wire bytes (every field of the closure). */
function entries(depth: number, fastOnly: boolean): fc.Arbitrary<AuditLogEntry> {
  const arbs = new WireArbitraries({ depth, wild: false, sparse: fastOnly ? 1 : 2, fastOnly });
  return arbs.bytes(entryDesc).map((b) => AuditLogEntry.decode(b));
}

describe("ts-proto object → JSON printer (src/codec/objectJson.ts)", () => {
  it("reprints the documentation's entries byte for byte", () => {
    const lines = readFileSync(new URL("../fixtures/seed-entries.jsonl", import.meta.url), "utf8")
      .trim()
      .split("\n");
    for (const line of lines) expect(entryToJsonLine(auditLogEntryFromJson(JSON.parse(line)))).toBe(line);
  });

  it("prints every field but maps and Struct itself, equal to the reference (depth 4)", () => {
    const before = entryPrinterStats.fallback;
    fc.assert(
      fc.property(entries(4, true), (e) => {
        expect(outcome(() => entryToJsonLine(e))).toEqual(reference(e));
      }),
      { numRuns: runs(300) },
    );
    expect(entryPrinterStats.fallback - before).toBe(0);
  });

  it("equals the reference on random entries with maps and Struct (depth 3)", () => {
    fc.assert(
      fc.property(entries(3, false), (e) => {
        expect(outcome(() => entryToJsonLine(e))).toEqual(reference(e));
      }),
      { numRuns: runs(300) },
    );
  });

  it("equals the reference on values ts-proto's encode rewrites or rejects", () => {
    const odd = fc.oneof(
      fc.double(),
      fc.float(),
      fc.constantFrom(-0, 1e-50, -1e-50, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1.5, -1, Number.NaN),
      stringArb,
      fc.constantFrom("\ud800", "a\udc00b", undefined, null, true),
    );
    fc.assert(
      fc.property(entries(2, true), odd, odd, odd, timestampArb, (e, a, b, c, t) => {
        const entry = structuredClone(e);
        if (entry.user === undefined) entry.user = AuditLogEntry.fromPartial({ user: {} }).user;
        const u = entry.user as unknown as Record<string, unknown>;
        u.teamsCount = a;
        u.starCount = b;
        entry.description = c as string;
        entry.timestamp = { seconds: t.seconds, nanos: typeof a === "number" ? a : t.nanos };
        expect(outcome(() => entryToJsonLine(entry))).toEqual(reference(entry));
      }),
      { numRuns: runs(300) },
    );
  });

  it("equals the reference when a target sets several oneof members", () => {
    fc.assert(
      fc.property(
        entries(2, true),
        fc.array(fc.constantFrom("user", "app", "model", "team"), { maxLength: 3 }),
        (e, kinds) => {
          const entry = structuredClone(e);
          const t: Record<string, unknown> = {};
          for (const k of kinds) t[k] = { id: k };
          entry.targets.push(t as never);
          expect(outcome(() => entryToJsonLine(entry))).toEqual(reference(entry));
        },
      ),
      { numRuns: runs(100) },
    );
  });

  it("prints a batch as JSONL equal to the reference lines, falling back per entry", () => {
    fc.assert(
      fc.property(fc.array(entries(2, false), { maxLength: 6 }), fc.nat(), (batch, k) => {
        const list = batch.map((e) => structuredClone(e));
        // One entry the fast path cannot print exactly (a lone surrogate) mid-batch.
        if (list.length > 0) (list[k % list.length] as AuditLogEntry).description = "x\ud800";
        const lines = list.map((e) => reference(e));
        if (lines.some((l) => !("ok" in l))) return;
        const expected = lines.map((l) => `${(l as { ok: string }).ok}\n`).join("");
        expect(entriesToJsonl(list)).toBe(expected);
      }),
      { numRuns: runs(100) },
    );
  });

  it("ignores the client's extra properties (timestampIso, operationName) like the reference does", () => {
    fc.assert(
      fc.property(entries(2, true), (e) => {
        const entry = Object.assign(structuredClone(e), { timestampIso: "x", operationName: "MODEL_CREATE" });
        expect(entryToJsonLine(entry)).toBe(JSON.stringify(auditLogEntryToJson(e)));
      }),
      { numRuns: runs(100) },
    );
  });
});
