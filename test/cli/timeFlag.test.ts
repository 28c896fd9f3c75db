/**
 * The one parser of time flags (packages/cli/src/cli/timeFlag.ts) at a fixed "now": RFC 3339 as
 * before, a date (its start, or its end as --to), today/yesterday (the UTC day of now, around
 * midnight too), now, the protobuf range's ends, and one-line refusals listing the forms; then
 * resolveWindow (--from yesterday --to yesterday is the whole of yesterday).
 */
import { describe, expect, it } from "@jest/globals";
import { UsageError } from "../../packages/cli/src/cli/exitCodes.js";
import { resolveWindow } from "../../packages/cli/src/cli/queryOptions.js";
import { parseTimeFlag } from "../../packages/cli/src/cli/timeFlag.js";
import { formatTimestamp, type Timestamp } from "../../packages/client/src/domain/time.js";

/** 2025-01-17T12:04:55.449Z. */
const NOON = Date.UTC(2025, 0, 17, 12, 4, 55, 449);
const at = (text: string, bound: "start" | "end", nowMs = NOON): string =>
  formatTimestamp(parseTimeFlag(text, "--from", bound, nowMs));
const exact = (ts: Timestamp | undefined) => ts && { seconds: ts.seconds, nanos: ts.nanos };

describe("parseTimeFlag", () => {
  it("reads RFC 3339 exactly as before, whichever bound", () => {
    for (const bound of ["start", "end"] as const) {
      expect(at("2025-01-17T12:04:55.449860123Z", bound)).toBe("2025-01-17T12:04:55.449860123Z");
      expect(at("2025-01-17T13:04:55+01:00", bound)).toBe("2025-01-17T12:04:55Z");
    }
  });

  it("a date is 00:00:00Z of that day as a start, 23:59:59.999999999Z as an end", () => {
    expect(at("2025-01-17", "start")).toBe("2025-01-17T00:00:00Z");
    expect(exact(parseTimeFlag("2025-01-17", "--to", "end", NOON))).toEqual({
      seconds: Date.UTC(2025, 0, 17, 23, 59, 59) / 1000,
      nanos: 999_999_999,
    });
    expect(at("2024-02-29", "end")).toBe("2024-02-29T23:59:59.999999999Z");
  });

  it("today, yesterday and now at the run's clock, in any case", () => {
    expect(at("today", "start")).toBe("2025-01-17T00:00:00Z");
    expect(at("TODAY", "end")).toBe("2025-01-17T23:59:59.999999999Z");
    expect(at("yesterday", "start")).toBe("2025-01-16T00:00:00Z");
    expect(at("Yesterday", "end")).toBe("2025-01-16T23:59:59.999999999Z");
    expect(at("now", "start")).toBe("2025-01-17T12:04:55.449Z");
    // now is an instant: no end-of-day for it.
    expect(at("now", "end")).toBe("2025-01-17T12:04:55.449Z");
  });

  it("around midnight, the day is the UTC day of now", () => {
    const lastMs = Date.UTC(2025, 0, 1) - 1; // 2024-12-31T23:59:59.999Z
    const midnight = Date.UTC(2025, 0, 1);
    expect(at("today", "start", lastMs)).toBe("2024-12-31T00:00:00Z");
    expect(at("yesterday", "start", lastMs)).toBe("2024-12-30T00:00:00Z");
    expect(at("today", "start", midnight)).toBe("2025-01-01T00:00:00Z");
    expect(at("yesterday", "end", midnight)).toBe("2024-12-31T23:59:59.999999999Z");
    // Leap day, and the epoch's edge (negative day numbers floor, not truncate).
    expect(at("yesterday", "start", Date.UTC(2024, 2, 1, 0, 0, 0, 1))).toBe("2024-02-29T00:00:00Z");
    expect(at("today", "start", -1)).toBe("1969-12-31T00:00:00Z");
  });

  it("years 1 and 9999 (protobuf's range) keep working, ends included", () => {
    expect(at("0001-01-01", "start")).toBe("0001-01-01T00:00:00Z");
    expect(at("0001-01-01", "end")).toBe("0001-01-01T23:59:59.999999999Z");
    expect(at("9999-12-31", "start")).toBe("9999-12-31T00:00:00Z");
    expect(at("9999-12-31", "end")).toBe("9999-12-31T23:59:59.999999999Z");
    expect(at("9999-12-31T23:59:59.999999999Z", "end")).toBe("9999-12-31T23:59:59.999999999Z");
    expect(at("0001-01-01T00:00:00Z", "start")).toBe("0001-01-01T00:00:00Z");
  });

  const FORMS = "use RFC 3339 (2025-01-17T12:04:55Z), a date (2025-01-17), today, yesterday or now, in UTC";
  it.each([
    ["2025-13-01", "--from", " (month 13 does not exist)"],
    ["2025-02-30", "--to", " (2025-02 has days 01-28)"],
    ["0000-12-31", "--from", " (year 0000 does not exist)"],
    [
      "0001-01-01T00:00:00+00:01",
      "--from",
      " (outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z)",
    ],
    ["1700000000000", "--from", ""],
    ["2025-1-17", "--from", ""],
    ["tomorrow", "--to", ""],
    [" today", "--from", ""],
    ["", "--from", ""],
  ])("refuses %j with one line naming the flag and the forms", (text, flag, why) => {
    let thrown: unknown;
    try {
      parseTimeFlag(text, flag, flag === "--to" ? "end" : "start", NOON);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe(`${flag}: ${JSON.stringify(text)} is not a time${why}: ${FORMS}`);
  });
});

describe("resolveWindow", () => {
  it("--from yesterday --to yesterday is the whole of yesterday; a day's --to its end", () => {
    const w = resolveWindow({ from: "yesterday", to: "yesterday" }, NOON);
    expect([formatTimestamp(w.from!), formatTimestamp(w.to!)]).toEqual([
      "2025-01-16T00:00:00Z",
      "2025-01-16T23:59:59.999999999Z",
    ]);
    const day = resolveWindow({ from: "2025-01-17", to: "2025-01-17" }, NOON);
    expect([formatTimestamp(day.from!), formatTimestamp(day.to!)]).toEqual([
      "2025-01-17T00:00:00Z",
      "2025-01-17T23:59:59.999999999Z",
    ]);
    const until = resolveWindow({ from: "today", to: "now" }, NOON);
    expect(formatTimestamp(until.to!)).toBe("2025-01-17T12:04:55.449Z");
  });

  it("a window whose start is after its end is still refused", () => {
    expect(() => resolveWindow({ from: "today", to: "yesterday" }, NOON)).toThrow(
      "empty window: from 2025-01-17T00:00:00Z is after to 2025-01-16T23:59:59.999999999Z",
    );
  });
});
