import { jest } from "@jest/globals";
import fc from "fast-check";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import {
  civilFromDays,
  daysFromCivil,
  daysInMonth,
  formatTimestamp,
  MAX_TIMESTAMP_SECONDS,
  MIN_TIMESTAMP_SECONDS,
  nowTimestamp,
  parseTimestamp,
} from "../../packages/client/src/domain/time.js";
import { ValidationError } from "../../packages/client/src/errors.js";

const pad = (n: number, w: number) => String(n).padStart(w, "0");

/** Independent BigInt reference: seconds since the epoch by counting days year by year in BigInt. */
function referenceSeconds(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  offsetMin: number,
): bigint {
  // days from 0001-01-01 to y-mo-d
  const yb = BigInt(y - 1);
  let days = yb * 365n + yb / 4n - yb / 100n + yb / 400n;
  for (let m = 1; m < mo; m++) days += BigInt(daysInMonth(y, m));
  days += BigInt(d - 1);
  const epochDays = 719162n; // days from 0001-01-01 to 1970-01-01
  return (days - epochDays) * 86400n + BigInt(h * 3600 + mi * 60 + s) - BigInt(offsetMin * 60);
}

const civil = fc
  .record({
    y: fc.integer({ min: 1, max: 9999 }),
    mo: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 31 }),
    h: fc.integer({ min: 0, max: 23 }),
    mi: fc.integer({ min: 0, max: 59 }),
    s: fc.integer({ min: 0, max: 59 }),
    fracDigits: fc.integer({ min: 0, max: 9 }),
    frac: fc.integer({ min: 0, max: 999_999_999 }),
    offsetMin: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
    z: fc.boolean(),
  })
  .map((r) => ({ ...r, d: Math.min(r.d, daysInMonth(r.y, r.mo)) }));

function render(r: {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  fracDigits: number;
  frac: number;
  offsetMin: number;
  z: boolean;
}): { text: string; fracNanos: number } {
  const fracText = r.fracDigits === 0 ? "" : pad(r.frac, 9).slice(0, r.fracDigits);
  const fracNanos = fracText === "" ? 0 : Number(fracText.padEnd(9, "0"));
  let zone: string;
  if (r.offsetMin === 0 && r.z) zone = "Z";
  else {
    const sign = r.offsetMin < 0 ? "-" : "+";
    const a = Math.abs(r.offsetMin);
    zone = `${sign}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
  }
  const text = `${pad(r.y, 4)}-${pad(r.mo, 2)}-${pad(r.d, 2)}T${pad(r.h, 2)}:${pad(r.mi, 2)}:${pad(r.s, 2)}${fracText ? `.${fracText}` : ""}${zone}`;
  return { text, fracNanos };
}

describe("parseTimestamp / formatTimestamp", () => {
  it("parses the documentation's timestamps exactly", () => {
    expect(parseTimestamp("2025-01-17T12:04:55.449860Z", "from")).toEqual({
      seconds: 1737115495,
      nanos: 449860000,
    });
    expect(parseTimestamp("2024-05-01T00:00:00Z", "from")).toEqual({ seconds: 1714521600, nanos: 0 });
    expect(parseTimestamp("2024-05-31T23:59:59Z", "to")).toEqual({ seconds: 1717199999, nanos: 0 });
    expect(parseTimestamp("1970-01-01T01:00:00+01:00", "from")).toEqual({ seconds: 0, nanos: 0 });
    expect(parseTimestamp("0001-01-01T00:00:00Z", "from")).toEqual({
      seconds: MIN_TIMESTAMP_SECONDS,
      nanos: 0,
    });
    expect(parseTimestamp("9999-12-31T23:59:59.999999999Z", "to")).toEqual({
      seconds: MAX_TIMESTAMP_SECONDS,
      nanos: 999_999_999,
    });
  });

  it("prints 0, 3, 6 or 9 fractional digits like proto3 JSON", () => {
    expect(formatTimestamp({ seconds: 1737115495, nanos: 449860000 })).toBe("2025-01-17T12:04:55.449860Z");
    expect(formatTimestamp({ seconds: 1737115495, nanos: 0 })).toBe("2025-01-17T12:04:55Z");
    expect(formatTimestamp({ seconds: 1737115495, nanos: 5_000_000 })).toBe("2025-01-17T12:04:55.005Z");
    expect(formatTimestamp({ seconds: 1737115495, nanos: 1 })).toBe("2025-01-17T12:04:55.000000001Z");
    expect(formatTimestamp({ seconds: -1, nanos: 0 })).toBe("1969-12-31T23:59:59Z");
    expect(formatTimestamp({ seconds: MIN_TIMESTAMP_SECONDS, nanos: 0 })).toBe("0001-01-01T00:00:00Z");
  });

  it("accepts Date, epoch ms, {seconds,nanos} and google-protobuf Timestamps", () => {
    expect(parseTimestamp(new Date("2025-01-17T12:04:55.449Z"), "from")).toEqual({
      seconds: 1737115495,
      nanos: 449_000_000,
    });
    expect(parseTimestamp(-1, "from")).toEqual({ seconds: -1, nanos: 999_000_000 });
    expect(parseTimestamp({ seconds: 5, nanos: 7 }, "from")).toEqual({ seconds: 5, nanos: 7 });
    expect(parseTimestamp({ seconds: 5n }, "from")).toEqual({ seconds: 5, nanos: 0 });
    // The refused value is shown, BigInt included (JSON.stringify alone throws on it).
    expect(() => parseTimestamp({ seconds: 10n ** 20n }, "to")).toThrow(
      'to: seconds must be an integer (got {"seconds":"100000000000000000000n"}',
    );
    expect(parseTimestamp({ getSeconds: () => 1714521600, getNanos: () => 0 }, "from")).toEqual({
      seconds: 1714521600,
      nanos: 0,
    });
  });

  it.each([
    ["2025-02-30T00:00:00Z", "has days 01-28"],
    ["2024-02-30T00:00:00Z", "has days 01-29"],
    ["2023-02-29T00:00:00Z", "has days 01-28"],
    ["2025-01-01T24:00:00Z", "hour"],
    ["2016-12-31T23:59:60Z", "leap seconds"],
    ["2025-13-01T00:00:00Z", "month 13"],
    ["0000-01-01T00:00:00Z", "year 0000"],
    ["0001-01-01T00:00:00+00:01", "out of range"],
    ["9999-12-31T23:59:59-00:01", "out of range"],
    ["2025-01-01T00:00:00.1234567890Z", "RFC 3339"],
    ["2025-01-01T00:00:00", "RFC 3339"],
    ["2025-01-01", "RFC 3339"],
    ["2025-01-01T00:00:00+2400", "RFC 3339"],
    ["2025-01-01T00:00:00+24:00", "offset"],
    [" 2025-01-01T00:00:00Z", "RFC 3339"],
  ])("refuses %s", (text, why) => {
    expect(() => parseTimestamp(text, "from")).toThrow(ValidationError);
    expect(() => parseTimestamp(text, "from")).toThrow(why);
    try {
      parseTimestamp(text, "to");
    } catch (e) {
      expect((e as ValidationError).field).toBe("to");
      expect((e as ValidationError).value).toBe(text);
      expect((e as ValidationError).message).toContain(JSON.stringify(text));
    }
  });

  it.each([
    [{ seconds: 1, nanos: 1_000_000_000 }],
    [{ seconds: 1, nanos: -1 }],
    [{ seconds: 1.5, nanos: 0 }],
    [{ seconds: MAX_TIMESTAMP_SECONDS + 1, nanos: 0 }],
    [{ seconds: MIN_TIMESTAMP_SECONDS - 1, nanos: 0 }],
    [new Date(Number.NaN)],
    [1.5],
    [Number.NaN],
    [253402300800000],
    [{ getSeconds: (): number => 1, getNanos: (): number => 1e9 }],
    [null],
    [{}],
    [true],
  ])("refuses %p", (input) => {
    expect(() => parseTimestamp(input as never, "from")).toThrow(ValidationError);
  });

  it("round-trips every valid string exactly against a BigInt reference", () => {
    fc.assert(
      fc.property(civil, (r) => {
        const { text, fracNanos } = render(r);
        const expected = referenceSeconds(r.y, r.mo, r.d, r.h, r.mi, r.s, r.offsetMin);
        if (expected < BigInt(MIN_TIMESTAMP_SECONDS) || expected > BigInt(MAX_TIMESTAMP_SECONDS)) {
          expect(() => parseTimestamp(text, "from")).toThrow(ValidationError);
          return;
        }
        const ts = parseTimestamp(text, "from");
        expect(BigInt(ts.seconds)).toBe(expected);
        expect(ts.nanos).toBe(fracNanos);
        const printed = formatTimestamp(ts);
        expect(parseTimestamp(printed, "from")).toEqual(ts);
        expect(formatTimestamp(parseTimestamp(printed, "from"))).toBe(printed);
      }),
      { numRuns: 3000 },
    );
  });

  it("formats every Timestamp canonically, identical to protoJson's printer", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN_TIMESTAMP_SECONDS, max: MAX_TIMESTAMP_SECONDS }),
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 1, max: 999 }).map((n) => n * 1_000_000),
          fc.integer({ min: 1, max: 999_999 }).map((n) => n * 1000),
          fc.integer({ min: 0, max: 999_999_999 }),
        ),
        (seconds, nanos) => {
          const iso = formatTimestamp({ seconds, nanos });
          const viaProtoJson = (
            auditLogEntryToJson(AuditLogEntry.fromPartial({ timestamp: { seconds, nanos } })) as {
              timestamp: string;
            }
          ).timestamp;
          expect(iso).toBe(viaProtoJson);
          expect(parseTimestamp(iso, "t")).toEqual({ seconds, nanos });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses impossible calendar dates (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 29, max: 99 }),
        (y, mo, d) => {
          fc.pre(d > daysInMonth(y, mo));
          const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T00:00:00Z`;
          expect(() => parseTimestamp(text, "from")).toThrow(ValidationError);
        },
      ),
    );
  });

  it("refuses any malformed string (property)", () => {
    const valid = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        fc.pre(!valid.test(s));
        expect(() => parseTimestamp(s, "from")).toThrow(ValidationError);
      }),
    );
  });

  it("civilFromDays inverts daysFromCivil", () => {
    fc.assert(
      fc.property(fc.integer({ min: -719162, max: 2932896 }), (days) => {
        const [y, m, d] = civilFromDays(days);
        expect(daysFromCivil(y, m, d)).toBe(days);
      }),
    );
  });
});

describe("nowTimestamp", () => {
  it("follows the wall clock, even when it was stepped after the process started", () => {
    // Fake timers step Date.now() to 2030 while performance keeps the real monotonic clock, as an
    // NTP step or a resume from suspend does to a long-running service.
    jest.useFakeTimers({ now: new Date("2030-01-01T00:00:00.123Z"), doNotFake: ["performance"] });
    try {
      expect(nowTimestamp()).toEqual({ seconds: 1893456000, nanos: 123_000_000 });
    } finally {
      jest.useRealTimers();
    }
  });
});
