/**
 * The store and the server-side codec: cached-bytes responses are byte-identical to the generated
 * encoder's; pages over a log full of timestamp ties never overlap or skip, in either order, with
 * or without filters; late appends merge into place.
 */
import { describe, expect, test } from "@jest/globals";
import {
  type AuditLogEntry,
  AuditLogEntry as AuditLogEntryCodec,
  EventType,
} from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../packages/client/generated/proto/clarifai/api/service.js";
import { encodeEntry } from "../../packages/emulator/src/entryEncoder.js";
import {
  AuditLog,
  compileQuery,
  generateEntries,
  runQuery,
  serializePreparedResponse,
} from "../../packages/emulator/src/index.js";
import { runQueryByScan } from "../../packages/emulator/src/query.js";
import { Rng } from "../../packages/emulator/src/rng.js";
import { okStatus } from "../../packages/emulator/src/searchService.js";
import { ALL_EVENT_TYPES } from "../../packages/emulator/src/vocabulary.js";
import { fixtureEntries, request } from "./helpers.js";

const status = okStatus;

describe("server-side response serializer", () => {
  test.each([
    ["the documentation's entries", fixtureEntries()],
    ["generated entries", generateEntries(700, 21)],
    ["no entries", [] as AuditLogEntry[]],
  ])("is byte-identical to MultiAuditLogEntryResponse.encode for %s", (_name, entries) => {
    const st = status("c0c3788f56734a07ac468cffc9f96b82");
    const mine = serializePreparedResponse({
      status: st,
      entries: entries.map((e) => AuditLogEntryCodec.encode(e).finish()),
    });
    const reference = MultiAuditLogEntryResponse.encode({ status: st, entries }).finish();
    expect(Buffer.from(mine).equals(Buffer.from(reference))).toBe(true);
    expect(MultiAuditLogEntryResponse.decode(mine)).toEqual(MultiAuditLogEntryResponse.decode(reference));
  });
});

describe("cached-parts entry encoder", () => {
  test("is byte-identical to AuditLogEntry.encode, edge cases included", () => {
    const [first] = fixtureEntries() as [AuditLogEntry];
    const edge: AuditLogEntry[] = [
      { ...first, timestamp: { seconds: -62135596800, nanos: 0 } },
      { ...first, timestamp: { seconds: 0, nanos: 0 }, operation: -1 as EventType },
      {
        ...first,
        timestamp: undefined,
        user: undefined,
        description: "",
        reqId: "",
        sourceIp: "",
        success: false,
      },
      { ...first, description: "Modèle créé — 模型 ✓ 🚀", details: ["x".repeat(300), "é".repeat(200), ""] },
      { ...first, timestamp: { seconds: 253402300799, nanos: 999999999 } },
    ];
    for (const e of [...fixtureEntries(), ...generateEntries(2000, 3), ...edge]) {
      expect(Buffer.from(encodeEntry(e)).equals(Buffer.from(AuditLogEntryCodec.encode(e).finish()))).toBe(
        true,
      );
    }
  });
});

/** A log where 2000 entries share only 7 distinct timestamps. */
function tiedLog(): { log: AuditLog; entries: AuditLogEntry[] } {
  const stamps = [0, 1, 1000, 1000, 5_000_000, 999_999_999, 7].map((nanos, i) => ({
    seconds: 1_700_000_000 + (i % 3),
    nanos,
  }));
  const entries = generateEntries(2000, 8).map((e, i) => ({
    ...e,
    timestamp: stamps[(i * 7919) % stamps.length],
    reqId: `req-${i}`,
  }));
  const log = new AuditLog();
  // Out of order and in several batches, so that merging is exercised too.
  log.add(entries.slice(1000));
  log.add(entries.slice(0, 500));
  log.add(entries.slice(500, 1000));
  return { log, entries };
}

function walk(log: AuditLog, asc: boolean, perPage: number, operations: EventType[] = []): string[] {
  const out: string[] = [];
  for (let page = 1; ; page++) {
    const ids = runQuery(
      log,
      compileQuery(
        request({
          sortAscending: asc,
          pagination: { page, perPage },
          query: operations.length
            ? {
                timestampFrom: undefined,
                timestampTo: undefined,
                userIds: [],
                operations,
                targets: [],
                success: undefined,
                sourceIps: [],
              }
            : undefined,
        }),
      ),
    );
    out.push(...ids.map((id) => log.entry(id).reqId));
    if (ids.length < perPage) return out;
  }
}

describe("pagination over timestamp ties", () => {
  const { log, entries } = tiedLog();
  test.each([
    [true, 37],
    [false, 37],
    [true, 1000],
    [false, 1],
  ])("ascending=%s per_page=%i: pages partition the log", (asc, perPage) => {
    const seen = walk(log, asc, perPage);
    expect(seen.length).toBe(entries.length);
    expect(new Set(seen).size).toBe(entries.length);
  });
  test("descending order is exactly the reverse of ascending order", () => {
    expect(walk(log, false, 64)).toEqual(walk(log, true, 64).reverse());
  });
  test("ascending pages are in non-decreasing timestamp order across ties", () => {
    const asc = walk(log, true, 500).map((r) => Number(r.slice(4)));
    const ts = asc.map((i) => entries[i]?.timestamp as { seconds: number; nanos: number });
    for (let i = 1; i < asc.length; i++) {
      const a = ts[i - 1] as { seconds: number; nanos: number };
      const b = ts[i] as { seconds: number; nanos: number };
      expect(a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos <= b.nanos)).toBe(true);
    }
  });
  test("with a filter, pages partition exactly the matching entries", () => {
    const ops = [EventType.MODEL_CREATE, EventType.APPLICATION_DELETE, EventType.NODEPOOL_UPDATE];
    const expected = entries.filter((e) => ops.includes(e.operation)).map((e) => e.reqId);
    const seen = walk(log, false, 9, ops);
    expect(new Set(seen)).toEqual(new Set(expected));
    expect(seen.length).toBe(expected.length);
    expect(walk(log, true, 13, ops)).toEqual(seen.reverse());
  });
});

test("time range bounds are inclusive to the nanosecond", () => {
  const { log } = tiedLog();
  const q = (from: [number, number], to: [number, number]) =>
    runQuery(
      log,
      compileQuery(
        request({
          pagination: { page: 1, perPage: 1000 },
          query: {
            timestampFrom: { seconds: from[0], nanos: from[1] },
            timestampTo: { seconds: to[0], nanos: to[1] },
            userIds: [],
            operations: [],
            targets: [],
            success: undefined,
            sourceIps: [],
          },
        }),
      ),
    ).map((id) => log.entry(id).timestamp);
  const hits = q([1_700_000_001, 1], [1_700_000_001, 1]);
  expect(hits.length).toBeGreaterThan(0);
  for (const t of hits) expect(t).toEqual({ seconds: 1_700_000_001, nanos: 1 });
  expect(q([1_700_000_001, 2], [1_700_000_001, 999])).toEqual([]);
});

describe("postings path", () => {
  test("pages equal a full scan's for random selective queries (both orders, deep pages, late merges)", () => {
    const entries = generateEntries(80_000, 31);
    const log = new AuditLog();
    log.add(entries.slice(20_000));
    log.add(entries.slice(0, 20_000)); // late: merged into place
    const rng = new Rng(5);
    const users = ["li-wei", "priya-nair", "nobody", "alfrick"];
    const ips = [...new Set(entries.slice(0, 500).map((e) => e.sourceIp))];
    const targetPool = entries.slice(0, 300).flatMap((e) => e.targets);
    const span = [
      entries[0]?.timestamp?.seconds ?? 0,
      entries[entries.length - 1]?.timestamp?.seconds ?? 0,
    ] as const;
    let nonEmpty = 0;
    for (let i = 0; i < 120; i++) {
      const query = {
        timestampFrom: rng.chance(0.3)
          ? { seconds: span[0] + rng.int(span[1] - span[0]), nanos: 0 }
          : undefined,
        timestampTo: undefined,
        userIds: rng.chance(0.4) ? [rng.pick(users), rng.pick(users)] : [],
        operations: rng.chance(0.5) ? [rng.pick(ALL_EVENT_TYPES), rng.pick(ALL_EVENT_TYPES)] : [],
        targets: rng.chance(0.4) ? [rng.pick(targetPool)] : [],
        success: rng.chance(0.3) ? rng.chance(0.5) : undefined,
        sourceIps: rng.chance(0.3) ? [rng.pick(ips)] : [],
      };
      const c = compileQuery(
        request({
          query,
          sortAscending: rng.chance(0.5),
          pagination: { page: 1 + rng.int(4), perPage: 1 + rng.int(300) },
        }),
      );
      const fast = runQuery(log, c);
      expect(fast).toEqual(runQueryByScan(log, c));
      if (fast.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(20);
  });
});
