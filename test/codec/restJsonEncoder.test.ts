import { readFileSync } from "node:fs";
import fc from "fast-check";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { messageDesc } from "../../packages/client/src/codec/registry.js";
import {
  auditLogEntryFromJson,
  auditLogEntryToJson,
  type JsonValue,
} from "../../packages/client/src/codec/restJson.js";
import {
  type RestJsonEncoder,
  restJsonEncoder,
  restJsonEncoderCode,
} from "../../packages/client/src/codec/restJsonEncoder.js";
import { generateEntries } from "../../packages/emulator/src/generate.js";
import { type Outcome, outcome, runs, stringArb, WireArbitraries } from "./wireArbitrary.js";

const entryDesc = messageDesc("clarifai.api.AuditLogEntry");

/** What the emulator stored before: the strict JSON mapping, then ts-proto's encode (hex). */
const reference = (json: unknown): Outcome<string> =>
  outcome(() =>
    Buffer.from(AuditLogEntry.encode(auditLogEntryFromJson(json as JsonValue)).finish()).toString("hex"),
  );

/** The generated encoder's bytes (hex), or "fallback" when it leaves the entry to the reference. */
function fast(json: unknown): string {
  const enc = restJsonEncoder();
  const n = enc.encode(json);
  return n < 0 ? "fallback" : enc.buffer().subarray(0, n).toString("hex");
}

/** Random entries (every field of the closure but maps and Struct), printed as the exporter does. */
function printedEntries(depth: number, fastOnly: boolean): fc.Arbitrary<JsonValue> {
  const arbs = new WireArbitraries({ depth, wild: false, sparse: fastOnly ? 1 : 2, fastOnly });
  // The printer refuses a few (a Value holding NaN): those are not lines an export holds.
  return arbs
    .bytes(entryDesc)
    .map((b) => outcome(() => auditLogEntryToJson(AuditLogEntry.decode(b))))
    .filter((o): o is { ok: JsonValue } => "ok" in o)
    .map((o) => o.ok);
}

/** The fast path may give up; when it does not, the reference accepts the entry with the same bytes. */
function agrees(json: unknown): boolean {
  const got = fast(json);
  if (got === "fallback") return false;
  expect({ ok: got }).toEqual(reference(json));
  return true;
}

describe("REST JSON → bytes encoder (packages/client/src/codec/restJsonEncoder.ts)", () => {
  it("encodes the documentation's entries and generated ones exactly as the reference", () => {
    const seed = readFileSync(new URL("../fixtures/seed-entries.jsonl", import.meta.url), "utf8")
      .trim()
      .split("\n");
    const generated = generateEntries(3000, 23).map((e) => JSON.stringify(auditLogEntryToJson(e)));
    for (const line of [...seed, ...generated]) expect(agrees(JSON.parse(line))).toBe(true);
  });

  it("encodes printed random entries exactly as the reference, without giving up (depth 4)", () => {
    fc.assert(
      fc.property(printedEntries(4, true), (json) => {
        expect(agrees(json)).toBe(true);
      }),
      { numRuns: runs(300) },
    );
  });

  it("never differs from the reference on entries with maps and Struct (depth 3)", () => {
    fc.assert(
      fc.property(printedEntries(3, false), (json) => {
        agrees(json);
      }),
      { numRuns: runs(300) },
    );
  });

  // Values in each place of a printed entry that the reference reads otherwise, rejects or
  // words an error for: the encoder must give up on every one it does not write identically.
  const odd = fc.oneof(
    fc.constantFrom(
      null,
      true,
      0,
      -0,
      1.5,
      -1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      2 ** 53,
      1e300,
      "1",
      "-1",
      "007",
      "9007199254740993",
      "",
      "\ud800",
      "a\udc00b",
      "AA==",
      "AA",
      "-_8=",
      "2025-02-30T00:00:00Z",
      "2025-01-17T24:00:00Z",
      "2025-01-17T12:00:00+01:00",
      "2025-01-17t12:00:00z",
      "2025-01-17T12:00:00.Z",
      "2025-01-17T12:00:00.1234567891Z",
      "0000-01-01T00:00:00Z",
      "1969-12-31T23:59:59.999999999Z",
      "USER_CREATE",
      [],
      [null],
      ["x"],
      [1],
      {},
      { id: "x" },
      { app: {}, user: {} },
    ),
    stringArb,
    fc.double(),
    fc.integer(),
  );

  /** A key path into `json` (objects and arrays), picked by the numbers in `picks`. */
  function mutate(json: JsonValue, picks: number[], value: unknown, rename: boolean): unknown {
    const root = structuredClone(json) as Record<string, unknown>;
    let node: Record<string, unknown> = root;
    for (const pick of picks) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const key = keys[pick % keys.length] as string;
      const child = node[key];
      if (child !== null && typeof child === "object" && pick % 3 !== 0) {
        node = child as Record<string, unknown>;
        continue;
      }
      if (rename) {
        // camelCase spelling, an unknown key, or the same field under both names.
        const camel = key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
        node[camel === key ? `${key}_x` : camel] = value === undefined ? child : value;
        if (pick % 2 === 0) delete node[key];
      } else {
        node[key] = value;
      }
      break;
    }
    return root;
  }

  it("gives up, or agrees with the reference, on odd values, spellings and keys anywhere", () => {
    fc.assert(
      fc.property(
        printedEntries(3, true),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        odd,
        fc.boolean(),
        (json, picks, value, rename) => {
          const m = mutate(json, picks, value, rename);
          const got = fast(m);
          if (got !== "fallback") expect({ ok: got }).toEqual(reference(m));
        },
      ),
      { numRuns: runs(1500) },
    );
  });

  it("gives up on what is not an entry object", () => {
    for (const v of [null, 1, "x", [], [{}], { __proto__: null, x: 1 }]) expect(fast(v)).toBe("fallback");
    expect(fast(JSON.parse('{"__proto__": {}}'))).toBe("fallback");
    expect(fast({})).toBe("");
    // Refused by the reference: two members of a oneof, an unknown key, one field under both names.
    for (const bad of [
      { targets: [{ app: { id: "a" }, user: { id: "u" } }] },
      { colour: "red" },
      { req_id: "a", reqId: "b" },
    ]) {
      expect(reference(bad)).toEqual({ threw: true });
      expect(fast(bad)).toBe("fallback");
    }
    // Read by the reference, but not in the exporter's spelling.
    for (const odd of [
      { reqId: "a" },
      { operation: "ORGANIZATION_MEMBER_ADD" },
      { success: null },
      { targets: [{}] },
    ]) {
      expect(reference(odd)).not.toEqual({ threw: true });
      if (!("targets" in odd)) expect(fast(odd)).toBe("fallback");
    }
    expect({ ok: fast({ targets: [{}] }) }).toEqual(reference({ targets: [{}] }));
  });

  it("grows its buffer wherever an entry crosses the end (a fresh encoder each time)", () => {
    // The buffer starts at 64 KiB: {description, success} ends there for a description of 65531
    // characters ± the varints and tags around the boundary.
    for (let len = 65526; len <= 65536; len++) {
      const enc = restJsonEncoderCode().compile<RestJsonEncoder>();
      const json = { description: "x".repeat(len), success: true, req_id: "r" };
      const n = enc.encode(json);
      expect({ ok: enc.buffer().subarray(0, n).toString("hex") }).toEqual(reference(json));
    }
  });

  it("writes pre-1970 timestamps, long strings and large messages as the reference", () => {
    const entry = JSON.parse(JSON.stringify(auditLogEntryToJson(generateEntries(1, 3)[0] as AuditLogEntry)));
    entry.timestamp = "1901-02-03T04:05:06.7Z";
    entry.description = "é".repeat(300);
    entry.details = Array.from({ length: 200 }, (_, i) => `detail ${i} ${"x".repeat(i)}`);
    expect(agrees(entry)).toBe(true);
  });
});
