/**
 * Pagination over real gRPC: page boundaries that cut through groups of entries with the same
 * timestamp, both sort orders, and the pinned `to` that keeps new entries from shifting pages.
 */
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import type { AuditLogClient } from "../../packages/client/src/client/client.js";
import { compareTimestamps, formatTimestamp, nowTimestamp } from "../../packages/client/src/domain/time.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { type Harness, harness } from "./fixtures.js";

const COUNT = 700;

/** Generated entries, each marked by a unique description; groups of five share one timestamp. */
function entriesWithTies(): AuditLogEntry[] {
  const base = generateEntries(COUNT, 42);
  return base.map((e, i) => ({
    ...e,
    description: `#${i}`,
    timestamp: i % 10 >= 1 && i % 10 <= 4 ? { ...(base[i - (i % 10)].timestamp as object) } : e.timestamp,
  })) as AuditLogEntry[];
}

let h: Harness;
let client: AuditLogClient;
let entries: AuditLogEntry[];

beforeAll(async () => {
  entries = entriesWithTies();
  h = await harness({ entries, dataFiles: [] });
  client = h.client();
});
afterAll(async () => {
  await h.close();
});

/** The reference order: ascending by timestamp, ties in insertion order. */
function referenceAscending(): string[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => compareTimestamps(a.e.timestamp!, b.e.timestamp!) || a.i - b.i)
    .map((x) => x.e.description);
}

describe("pagination", () => {
  it("has ties that straddle page boundaries", () => {
    const asc = referenceAscending();
    const ts = new Map(entries.map((e) => [e.description, formatTimestamp(e.timestamp!)]));
    const straddles = [7, 14, 21, 28, 35].filter((b) => ts.get(asc[b - 1]) === ts.get(asc[b]));
    expect(straddles.length).toBeGreaterThan(0);
  });

  it.each([
    [true, 7],
    [true, 50],
    [false, 7],
    [false, 64],
    [false, 1000],
  ])("sortAscending=%p, perPage=%p: every entry once, in order", async (sortAscending, perPage) => {
    const got: string[] = [];
    let pages = 0;
    for await (const page of client.pages({ sortAscending, perPage })) {
      pages++;
      expect(page.page).toBe(pages);
      got.push(...page.entries.map((e) => e.description));
    }
    const asc = referenceAscending();
    expect(got).toEqual(sortAscending ? asc : [...asc].reverse());
    expect(new Set(got).size).toBe(COUNT);
    expect(pages).toBe(Math.floor(COUNT / perPage) + 1);
  });

  it("starts at the requested page and honours filters across pages", async () => {
    const all: string[] = [];
    for await (const e of client.entries({ success: false, perPage: 5, sortAscending: true }))
      all.push(e.description);
    const expected = referenceAscending().filter((d) => entries[Number(d.slice(1))].success === false);
    expect(all).toEqual(expected);
    const fromPage3: string[] = [];
    for await (const e of client.entries({ success: false, perPage: 5, page: 3, sortAscending: true })) {
      fromPage3.push(e.description);
    }
    expect(fromPage3).toEqual(expected.slice(10));
  });

  it("pins an open `to` at the first request: entries logged meanwhile do not shift pages", async () => {
    const newest = referenceAscending().reverse();
    const got: string[] = [];
    let appended = false;
    for await (const page of client.pages({ perPage: 100 })) {
      got.push(...page.entries.map((e) => e.description));
      if (!appended) {
        appended = true;
        const now = nowTimestamp();
        const fresh = Array.from({ length: 30 }, (_, i) => ({
          ...entries[i],
          description: `new-${i}`,
          timestamp: { seconds: now.seconds + 1, nanos: i },
        }));
        h.emu.append(fresh as AuditLogEntry[]);
      }
    }
    expect(got).toEqual(newest);
    // Without the pin, page 2 would now start 30 entries earlier: exactly what pinning prevents.
    const unpinnedPage2 = await client.search({ perPage: 100, page: 2 });
    expect(unpinnedPage2.entries[0].description).toBe(newest[70]);
  });
});
