/**
 * `runSync` (packages/cli/src/sync/sync.ts) in-process, against the emulator over real gRPC, into a store held in
 * memory (test/helpers/memoryStore.ts): what sync guarantees whatever the store is. Every entry is
 * stored exactly once across runs, crashes (a commit that fails before or after it was applied) and
 * interruptions; late arrivals inside the reconcile window are added once and counted late; what a
 * run re-reads is skipped. "Now" is fixed per run, so windows are exact; no child process, no build.
 */

import { runSync, type SyncOptions, type SyncRunSummary } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { formatTs, nowTs } from "../../packages/client/src/domain/timestamps.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { InjectedCommitError, MemoryStore } from "../helpers/memoryStore.js";

const HOUR = 3_600_000;
/** The instant of the first run: every entry is dated before it. */
const NOW = Date.UTC(2026, 0, 1, 12);

let emu: EmulatorHandle;
const pats: Record<string, string> = {};
for (let i = 0; i < 40; i++) pats[`memory-sync-pat-${i}-0123456789abcdef`] = `memory-user-${i}`;
let users = 0;
const clients: AuditLogClient[] = [];

beforeAll(async () => {
  emu = await startEmulator({ pats, entries: [], restPort: false });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await emu?.close();
});

let seed = 7000;
/** Generated entries re-dated at `times` (ms since the epoch, plus a few µs so that none collide by accident). */
function entriesAt(times: number[]): AuditLogEntry[] {
  return generateEntries(times.length, ++seed).map((e, i) => {
    const us = (times[i] as number) * 1000 + ((seed * 7919 + i * 104_729) % 997);
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

/** `count` instants spread over the `hours` before `end` (ms). */
function before(end: number, hours: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => end - hours * HOUR + ((hours * HOUR - 1) * i) / count);
}

/** A log of its own (a user of its own) holding `entries`, and a client reading it. */
function log(entries: AuditLogEntry[]): {
  client: AuditLogClient;
  lines: () => string[];
  add: (e: AuditLogEntry[]) => void;
} {
  const [pat, userId] = Object.entries(pats)[users++] as [string, string];
  emu.append(entries, userId);
  const client = new AuditLogClient({ pat, userId, endpoint: emu.grpcAddress, insecure: true });
  clients.push(client);
  const all = [...entries];
  return {
    client,
    lines: () => all.map(entryToJsonLine).sort(),
    add: (more) => {
      all.push(...more);
      emu.append(more, userId);
    },
  };
}

function sync(client: AuditLogClient, store: MemoryStore, now: number, more: Partial<SyncOptions> = {}) {
  return runSync({
    client,
    store,
    settleMs: 0,
    reconcileMs: HOUR,
    perPage: 50,
    commitEntries: 40,
    commitIntervalMs: 0,
    concurrency: 3,
    now: () => now,
    ...more,
  });
}

/** The store holds exactly `lines`, each inserted once, and its totals say so. */
function expectExactlyOnce(store: MemoryStore, lines: string[]): void {
  const stored = [...store.rows.values()].map((r) => r.json).sort();
  expect(stored).toEqual(lines);
  expect([...store.insertions.values()].every((n) => n === 1)).toBe(true);
  expect(store.state?.totals.entries).toBe(lines.length);
  expect(store.state?.run).toBeUndefined();
}

it("a first run stores every entry once and sets the high-water mark; the next re-reads its reconcile window and adds nothing", async () => {
  const entries = entriesAt(before(NOW, 10, 500));
  const l = log(entries);
  const inLastHour = entries.filter((e) => (e.timestamp?.seconds ?? 0) * 1000 >= NOW - HOUR).length;
  const store = new MemoryStore();
  const first = await sync(l.client, store, NOW);
  expect({
    inserted: first.inserted,
    late: first.late,
    walked: first.walked,
    resumed: first.resumed,
  }).toEqual({
    inserted: 500,
    late: 0,
    walked: 500,
    resumed: false,
  });
  expect(first.highWater).toBe(formatTs(nowTs(NOW)));
  expect(first.totals).toEqual({ entries: 500, late: 0, runs: 1 });
  expect(first.held).toBe(500);
  expectExactlyOnce(store, l.lines());
  // Many commits, each of at most commitEntries: the walk was committed as it went.
  expect(store.commits.filter((c) => c.offered > 0).length).toBeGreaterThan(5);

  const second = await sync(l.client, store, NOW + 60_000);
  // The last hour before the high-water mark (about 50 entries of 10 hours' 500) is walked again.
  expect(second.window?.from).toBe(formatTs(nowTs(NOW - HOUR)));
  expect({ inserted: second.inserted, late: second.late, walked: second.walked }).toEqual({
    inserted: 0,
    late: 0,
    walked: inLastHour,
  });
  expect(inLastHour).toBeGreaterThan(40);
  expect(second.totals).toEqual({ entries: 500, late: 0, runs: 2 });
  expectExactlyOnce(store, l.lines());
});

it("late arrivals inside the reconcile window are stored once and counted late; newer entries are not late", async () => {
  const l = log(entriesAt(before(NOW, 5, 200)));
  const store = new MemoryStore();
  await sync(l.client, store, NOW);
  const late = entriesAt(before(NOW, 0.5, 7));
  const fresh = entriesAt(before(NOW + 10 * 60_000, 1 / 6, 4));
  l.add([...late, ...fresh]);
  const second = await sync(l.client, store, NOW + 20 * 60_000);
  expect({ inserted: second.inserted, late: second.late }).toEqual({ inserted: 11, late: 7 });
  expect(second.totals).toEqual({ entries: 211, late: 7, runs: 2 });
  expectExactlyOnce(store, l.lines());
  // A third run finds them all held.
  const third = await sync(l.client, store, NOW + 30 * 60_000);
  expect({ inserted: third.inserted, late: third.late }).toEqual({ inserted: 0, late: 0 });
});

it("entries at one instant across pages and at the high-water mark itself are stored once each", async () => {
  // 130 entries at one microsecond: three pages of 50 that the engine must not cut between or repeat.
  const instant = NOW - 2 * HOUR;
  const same = generateEntries(130, ++seed).map((e) => ({
    ...e,
    timestamp: { seconds: Math.floor(instant / 1000), nanos: (instant % 1000) * 1_000_000 + 123_000 },
  }));
  const l = log([...same, ...entriesAt(before(NOW, 4, 100))]);
  const store = new MemoryStore();
  const first = await sync(l.client, store, NOW, { reconcileMs: 0 });
  expect(first.inserted).toBe(230);
  expectExactlyOnce(store, l.lines());
  // Entries dated exactly at the high-water mark, landing after the run that set it: a run with no
  // reconcile window starts there, and adds them once, as late.
  const atMark = generateEntries(3, ++seed).map((e) => ({
    ...e,
    timestamp: { seconds: Math.floor(NOW / 1000), nanos: 0 },
  }));
  l.add(atMark);
  const second = await sync(l.client, store, NOW + HOUR, { reconcileMs: 0 });
  expect({ inserted: second.inserted, late: second.late }).toEqual({ inserted: 3, late: 3 });
  expectExactlyOnce(store, l.lines());
});

/** Runs sync until a run completes (no more than `limit` runs); returns every run's summary or error. */
async function untilComplete(
  client: AuditLogClient,
  store: MemoryStore,
  limit = 5,
): Promise<(SyncRunSummary | Error)[]> {
  const runs: (SyncRunSummary | Error)[] = [];
  for (let i = 0; i < limit; i++) {
    const r = await sync(client, store, NOW).catch((e: unknown) => e as Error);
    runs.push(r);
    if (!(r instanceof Error)) return runs;
  }
  throw new Error(`no run completed in ${limit}: ${runs.map(String).join("; ")}`);
}

describe("exactly once across crashes", () => {
  const times = before(NOW, 8, 480);
  /** Commits of a clean run of this log: the first pins the window, the last sets the high-water mark. */
  let commits = 0;
  beforeAll(async () => {
    const store = new MemoryStore();
    await sync(log(entriesAt(times)).client, store, NOW);
    commits = store.commits.length;
    expect(commits).toBeGreaterThan(8);
  });
  it.each([
    ["the first (the pinned window)", 1, "before"],
    ["the first (the pinned window)", 1, "after"],
    ["the second", 2, "before"],
    ["the second", 2, "after"],
    ["a middle one", 5, "before"],
    ["a middle one", 6, "after"],
    ["the one before the last", -1, "before"],
    ["the one before the last", -1, "after"],
    ["the last (the high-water mark)", 0, "before"],
    ["the last (the high-water mark)", 0, "after"],
  ] as const)(
    "%s commit failing %s it was applied: the next run loses or repeats nothing",
    async (_what, at, how) => {
      const n = at > 0 ? at : commits + at;
      const l = log(entriesAt(times));
      const store = new MemoryStore();
      store.failCommit(n, how);
      const runs = await untilComplete(l.client, store);
      expect(runs[0]).toBeInstanceOf(InjectedCommitError);
      expect(runs).toHaveLength(2);
      const last = runs[1] as SyncRunSummary;
      // Nothing stored: a fresh run. The high-water mark stored: a new run after a complete one.
      // Anything between: the pinned window is resumed.
      const fresh = n === 1 && how === "before";
      const ended = n === commits && how === "after";
      expect({ resumed: last.resumed, runs: last.totals.runs }).toEqual({
        resumed: !fresh && !ended,
        runs: ended ? 2 : 1,
      });
      expectExactlyOnce(store, l.lines());
    },
  );
});

it("an abort mid-walk commits what was walked; the next run resumes the pinned window and stores the rest once", async () => {
  const l = log(entriesAt(before(NOW, 6, 400)));
  const store = new MemoryStore();
  const controller = new AbortController();
  const interrupted = await sync(l.client, store, NOW, {
    signal: controller.signal,
    concurrency: 1,
    onProgress: (p) => {
      if (p.entries >= 120) controller.abort();
    },
  }).catch((e: unknown) => e as Error);
  expect(interrupted).toMatchObject({ name: "SyncInterruptedError" });
  const held = store.rows.size;
  expect(held).toBeGreaterThanOrEqual(120);
  expect(held).toBeLessThan(400);
  expect(store.state?.run?.cursor.window.to).toBe(formatTs(nowTs(NOW)));
  // Later, and with more entries landed since: the pinned window is resumed, not a new one opened.
  l.add(entriesAt(before(NOW + HOUR, 0.5, 5)));
  const resumed = await sync(l.client, store, NOW + HOUR);
  expect(resumed.resumed).toBe(true);
  expect(resumed.window?.to).toBe(formatTs(nowTs(NOW)));
  expect(resumed.inserted).toBe(400 - held);
  const lines = l.lines();
  const stored = [...store.rows.values()].map((r) => r.json);
  expect(stored).toHaveLength(400);
  expect(new Set(stored).size).toBe(400);
  expect([...store.insertions.values()].every((n) => n === 1)).toBe(true);
  // The next run picks up the newer entries.
  const next = await sync(l.client, store, NOW + HOUR);
  expect(next.inserted).toBe(5);
  expectExactlyOnce(store, lines);
});

it("a store holding another log is refused before anything is walked", async () => {
  const a = log(entriesAt(before(NOW, 1, 10)));
  const b = log(entriesAt(before(NOW, 1, 10)));
  const store = new MemoryStore();
  await sync(a.client, store, NOW);
  const calls = emu.calls;
  await expect(sync(b.client, store, NOW)).rejects.toMatchObject({ name: "SyncUsageError" });
  expect(emu.calls).toBe(calls);
  expect(store.rows.size).toBe(10);
});
