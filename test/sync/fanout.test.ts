/**
 * `runFanout` (packages/cli/src/sync/fanout.ts) in-process, against the emulator over real gRPC, into
 * real Parquet lakes in temporary folders (and one real PostgreSQL table): one walk feeding several
 * destinations, each ending with every entry of the log exactly once, across rounds where the log
 * grows (new and late entries, some landing under the walk), a member joins late or skips rounds, one
 * fails its commits for a while, one stops committing (lagging), and a round is interrupted. Each
 * scenario has its own user (its own log) in one emulator. "Now" is fixed per round, so windows are
 * exact. Crashes (SIGKILL at each crash point) are fanoutCrash.test.ts's.
 */
import { join } from "node:path";
import type pg from "pg";
import { type FanoutEvent, type FanoutOptions, runFanout } from "../../packages/cli/src/sync/fanout.js";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import { createPostgresStore } from "../../packages/cli/src/sync/postgres/store.js";
import type { SyncStore } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { formatTs, nowTs, tsToNs } from "../../packages/client/src/domain/timestamps.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { InjectedCommitError, MemoryStore } from "../helpers/memoryStore.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { ControlledStore, expectLakesHold, InjectedStoreError, lakeConsistent } from "./fanoutHelpers.js";

const MINUTE = 60_000;
const USERS = ["grow", "fail", "lag", "pace", "requests", "abort", "single"] as const;
const pat = (u: string) => `fanout-pat-${u}-0123456789abcdef`;
const user = (u: string) => `fanout-${u}`;

let emu: EmulatorHandle;
let server: PostgresServer;
let tmp: ReturnType<typeof tempDir>;
const clients: AuditLogClient[] = [];

beforeAll(async () => {
  tmp = tempDir();
  const pats = Object.fromEntries(USERS.map((u) => [pat(u), user(u)]));
  // The growth faults append to the data user's log: the first scenario's.
  [emu, server] = await Promise.all([
    startEmulator({ pats, entries: [], dataUserId: user("grow"), restPort: false }),
    startPostgres(),
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await emu?.close();
  await server?.stop();
  tmp?.cleanup();
});

function clientOf(u: string): AuditLogClient {
  const c = new AuditLogClient({ pat: pat(u), userId: user(u), endpoint: emu.grpcAddress, insecure: true });
  clients.push(c);
  return c;
}

let seed = 500;
/** Generated entries re-dated at `times` (ms), µs apart so that none collide by accident. */
function entriesAt(times: number[]): AuditLogEntry[] {
  return generateEntries(times.length, ++seed).map((e, i) => {
    const us = (times[i] as number) * 1000 + ((seed * 7919 + i * 104_729) % 997);
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

/** `count` instants spread over `[from, to]` (ms). */
function spread(from: number, to: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + ((to - from) * i) / Math.max(1, count - 1));
}

const T0 = Date.UTC(2026, 0, 1, 12);

/** Options of a round of scenario `u` at instant `now` (ms). */
function round(
  client: AuditLogClient,
  members: Record<string, SyncStore>,
  now: number,
  more: Partial<FanoutOptions> = {},
): FanoutOptions {
  return {
    client,
    members: Object.entries(members).map(([id, store]) => ({ id, store })),
    settleMs: 0,
    reconcileMs: 10 * MINUTE,
    perPage: 20,
    commitEntries: 20,
    commitIntervalMs: 0,
    concurrency: 2,
    now: () => now,
    ...more,
  };
}

/** Events of a round, recorded. */
function recorder(): { events: FanoutEvent[]; onEvent: (e: FanoutEvent) => void } {
  const events: FanoutEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

/** The walks of a round (side by side: sorted by their members, not by when each pinned its window). */
function windows(events: FanoutEvent[]) {
  return events
    .flatMap((e) => (e.kind === "window" ? [e] : []))
    .map((e) => ({ members: [...e.members].sort(), shared: e.shared, resumed: e.resumed, from: e.from }))
    .sort((x, y) => x.members.join().localeCompare(y.members.join()));
}

it("three members (two lakes, one PostgreSQL table) over rounds where the log grows under the walk, with late entries, and a member skips rounds: each holds the log exactly once", async () => {
  const client = clientOf("grow");
  emu.append(entriesAt(spread(T0 - 60 * MINUTE, T0 - 1000, 150)), user("grow"));
  const url = await server.createDatabase("fanoutgrow");
  const db: pg.Client = await server.client("fanoutgrow");
  const dirs = [join(tmp.dir, "grow-a"), join(tmp.dir, "grow-b")];
  const stores = () => ({
    a: createLakeStore({ dir: dirs[0] as string }),
    b: createLakeStore({ dir: dirs[1] as string }),
    c: createPostgresStore({ url, env: {} }),
  });
  try {
    // Round 1, the log growing under the walk: new entries at its head, late ones inside its span.
    emu.setFaults({ growth: { count: 3, everyMs: 15, lateFraction: 0.4 }, seed: 3 });
    const r1 = recorder();
    const first = await runFanout({ ...round(client, stores(), T0), onEvent: r1.onEvent });
    emu.resetFaults();
    expect(windows(r1.events)).toEqual([
      { members: ["a", "b", "c"], shared: true, resumed: false, from: expect.any(String) },
    ]);
    for (const id of ["a", "b", "c"])
      expect(first.members.get(id)?.summary?.highWater).toBe(formatTs(nowTs(T0)));
    // Every member's last commit ended the window (the collector's "last commit" metric).
    for (const id of ["a", "b", "c"])
      expect(r1.events.filter((e) => e.kind === "committed" && e.member === id).at(-1)).toMatchObject({
        highWater: formatTs(nowTs(T0)),
        position: expect.stringMatching(/^2026-01-01T11:\d\d:\d\d\.\d{9}Z$/),
      });

    // Round 2 without c: late entries behind the mark and new ones at the head.
    emu.append(
      entriesAt([...spread(T0 - 8 * MINUTE, T0 - MINUTE, 6), ...spread(T0 + 1000, T0 + 4 * MINUTE, 10)]),
      user("grow"),
    );
    const { c: _c, ...ab } = stores();
    const second = await runFanout(round(client, ab, T0 + 5 * MINUTE));
    expect(second.members.get("a")?.summary?.late).toBeGreaterThanOrEqual(6);

    // Round 3: c is 5 minutes behind (inside the reconcile window): one walk of the union window,
    // from c's mark − reconcile, for all three; the log grows under it again.
    emu.append(
      entriesAt([
        ...spread(T0 + 2 * MINUTE, T0 + 4.5 * MINUTE, 5),
        ...spread(T0 + 6 * MINUTE, T0 + 9 * MINUTE, 8),
      ]),
      user("grow"),
    );
    emu.setFaults({ growth: { count: 2, everyMs: 15, lateFraction: 0.5 }, seed: 4 });
    const r3 = recorder();
    const third = await runFanout({ ...round(client, stores(), T0 + 10 * MINUTE), onEvent: r3.onEvent });
    emu.resetFaults();
    expect(windows(r3.events)).toEqual([
      { members: ["a", "b", "c"], shared: true, resumed: false, from: formatTs(nowTs(T0 - 10 * MINUTE)) },
    ]);
    expect([...third.members.values()].every((m) => m.error === undefined)).toBe(true);

    // Round 4 without c, round 5 with it: c is now 30 minutes behind, beyond the reconcile window,
    // and catches up on its own walk while a and b share theirs.
    emu.append(entriesAt(spread(T0 + 11 * MINUTE, T0 + 39 * MINUTE, 20)), user("grow"));
    const { c: _c2, ...ab4 } = stores();
    await runFanout(round(client, ab4, T0 + 40 * MINUTE));
    emu.append(entriesAt(spread(T0 + 35 * MINUTE, T0 + 44 * MINUTE, 10)), user("grow"));
    const r5 = recorder();
    await runFanout({ ...round(client, stores(), T0 + 45 * MINUTE), onEvent: r5.onEvent });
    expect(windows(r5.events)).toEqual([
      { members: ["a", "b"], shared: true, resumed: false, from: formatTs(nowTs(T0 + 30 * MINUTE)) },
      { members: ["c"], shared: false, resumed: false, from: formatTs(nowTs(T0)) },
    ]);

    // A last round after everything landed, reaching back over the whole log (the late entries the
    // growth put anywhere in it): each member recalls the keys it forgot, and adds only what it lacks.
    const span = emu.log(user("grow"))?.span();
    const end = Number(tsToNs(span?.last ?? nowTs(T0)) / 1_000_000n) + MINUTE;
    const last = await runFanout(
      round(client, stores(), Math.max(end, T0 + 50 * MINUTE), { reconcileMs: 3650 * 1440 * MINUTE }),
    );
    expect([...last.members.values()].every((m) => m.error === undefined)).toBe(true);
    const lines = await expectLakesHold(dirs, emu.size(user("grow")));
    // The 209 entries appended here, and those the growth added under the walks.
    expect(lines.length).toBeGreaterThan(209);
    // The table holds the same entries, each once, and its state counts them.
    const rows = await db.query<{ entry_key: string }>("SELECT entry_key FROM audit_log");
    expect(rows.rows.map((r) => r.entry_key).sort()).toEqual(lines.map(lineKey).sort());
    const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
    expect(st.rows[0].state.totals.entries).toBe(lines.length);
    expect(st.rows[0].state.run).toBeUndefined();
  } finally {
    emu.resetFaults();
    await db.end();
  }
}, 60_000);

it("a member whose commits fail is detached, the others complete; it resumes from its own last commit when it recovers and ends at parity", async () => {
  const client = clientOf("fail");
  const add = (times: number[]) => emu.append(entriesAt(times), user("fail"));
  add(spread(T0 - 60 * MINUTE, T0 - 1000, 120));
  const dirs = ["fail-a", "fail-b", "fail-c"].map((d) => join(tmp.dir, d));
  const flaky = () => new ControlledStore(createLakeStore({ dir: dirs[1] as string }));
  const stores = (b: SyncStore) => ({
    a: createLakeStore({ dir: dirs[0] as string }),
    b,
    c: createLakeStore({ dir: dirs[2] as string }),
  });
  await runFanout(round(client, stores(flaky()), T0));
  await expectLakesHold(dirs, 120);

  // Round 2: b lets two commits through (the pinned window, one batch), then its disk is full.
  add([...spread(T0 - 8 * MINUTE, T0 - MINUTE, 8), ...spread(T0 + 1000, T0 + 4 * MINUTE, 100)]);
  const b2 = flaky();
  b2.failAfter(2);
  const r2 = recorder();
  const second = await runFanout({ ...round(client, stores(b2), T0 + 5 * MINUTE), onEvent: r2.onEvent });
  expect(second.members.get("b")).toEqual({ error: expect.any(InjectedStoreError), detached: "failed" });
  expect(
    r2.events.flatMap((e) =>
      (e.kind === "failed" || e.kind === "detached") && e.member === "b" ? [e.kind] : [],
    ),
  ).toEqual(["failed", "detached"]);
  // The others walked the whole window after b left it.
  for (const id of ["a", "c"]) {
    expect(second.members.get(id)?.summary).toMatchObject({
      inserted: 108,
      late: 8,
      highWater: formatTs(nowTs(T0 + 5 * MINUTE)),
    });
    const detachedAt = r2.events.findIndex((e) => e.kind === "detached");
    const ended = r2.events.findIndex(
      (e) => e.kind === "committed" && e.member === id && e.highWater !== undefined,
    );
    expect(ended).toBeGreaterThan(detachedAt);
  }
  // b's lake keeps its last good commit: consistent, with the run to resume, and part of the new entries.
  const bAfter = await lakeConsistent(dirs[1] as string);
  expect(bAfter.running).toBe(true);
  expect(bAfter.entries.length).toBeGreaterThanOrEqual(120);
  expect(bAfter.entries.length).toBeLessThan(228);

  // Round 3: b still down: its resumed walk fails at once; a and c go on together.
  add(spread(T0 + 6 * MINUTE, T0 + 9 * MINUTE, 10));
  const b3 = flaky();
  b3.failAfter(0);
  const r3 = recorder();
  const third = await runFanout({ ...round(client, stores(b3), T0 + 10 * MINUTE), onEvent: r3.onEvent });
  expect(third.members.get("b")?.error).toBeInstanceOf(InjectedStoreError);
  expect(windows(r3.events)).toEqual([
    { members: ["a", "c"], shared: true, resumed: false, from: formatTs(nowTs(T0 - 5 * MINUTE)) },
    { members: ["b"], shared: false, resumed: true, from: formatTs(nowTs(T0 - 10 * MINUTE)) },
  ]);

  // Round 4: b is back: it resumes its pinned window from its own cursor; round 5: in step again.
  const r4 = recorder();
  const fourth = await runFanout({
    ...round(client, stores(flaky()), T0 + 11 * MINUTE),
    onEvent: r4.onEvent,
  });
  expect(fourth.members.get("b")?.summary).toMatchObject({
    resumed: true,
    highWater: formatTs(nowTs(T0 + 5 * MINUTE)),
  });
  expect(fourth.members.get("b")?.summary?.inserted).toBe(228 - bAfter.entries.length);
  add(spread(T0 + 11.5 * MINUTE, T0 + 12 * MINUTE, 4));
  const r5 = recorder();
  await runFanout({ ...round(client, stores(flaky()), T0 + 13 * MINUTE), onEvent: r5.onEvent });
  // b's mark (T0 + 5 min) is within the reconcile window of the others' (T0 + 11 min): one walk.
  expect(windows(r5.events)).toEqual([
    { members: ["a", "b", "c"], shared: true, resumed: false, from: formatTs(nowTs(T0 - 5 * MINUTE)) },
  ]);
  await expectLakesHold(dirs, emu.size(user("fail")));
  expect(emu.size(user("fail"))).toBe(242);
}, 60_000);

it("a member that stops committing holds the walk at its lag bound only for the stall time, then is detached as lagging; the others finish the window without waiting for it; it catches up later", async () => {
  const client = clientOf("lag");
  emu.append(entriesAt(spread(T0 - 60 * MINUTE, T0 - 1000, 300)), user("lag"));
  const dirs = ["lag-a", "lag-b", "lag-c"].map((d) => join(tmp.dir, d));
  const stores = (b: SyncStore) => ({
    a: createLakeStore({ dir: dirs[0] as string }),
    b,
    c: createLakeStore({ dir: dirs[2] as string }),
  });
  const slow = new ControlledStore(createLakeStore({ dir: dirs[1] as string }));
  slow.hold();
  const events: FanoutEvent[] = [];
  const ended = new Set<string>();
  const first = await runFanout({
    ...round(client, stores(slow), T0, {
      perPage: 10,
      commitEntries: 10,
      maxLagEntries: 30,
      maxStallMs: 100,
    }),
    onEvent: (e) => {
      events.push(e);
      if (e.kind === "committed" && e.highWater !== undefined) ended.add(e.member);
      // Only once both others have ended their window does b's first commit go through: were the
      // walk waiting for b, this round would never end.
      if (ended.has("a") && ended.has("c")) slow.let();
    },
  });
  expect(first.members.get("b")).toMatchObject({ detached: "lagging", summary: { inserted: 0 } });
  expect(first.members.get("b")?.error).toBeUndefined();
  const detached = events.findIndex((e) => e.kind === "detached" && e.member === "b");
  expect(events[detached]).toEqual({ kind: "detached", member: "b", reason: "lagging" });
  // The walk waited at b's bound ((1 + 1) × (10 + 10) = 40 entries queued) for the stall time, then
  // went on without it: detached long before the end.
  const aCommitted = events.filter((e, i) => i < detached && e.kind === "committed" && e.member === "a");
  expect(aCommitted.reduce((n, e) => n + (e.kind === "committed" ? e.inserted : 0), 0)).toBeLessThanOrEqual(
    60,
  );
  for (const id of ["a", "c"]) expect(first.members.get(id)?.summary?.inserted).toBe(300);
  // b committed only its pinned window (the commit it was in when detached), nothing after it.
  expect(slow.committed).toBe(1);
  expect(await lakeConsistent(dirs[1] as string)).toEqual({ entries: [], running: true });

  // Next round: b resumes its window on its own; then all three are in step.
  const r2 = recorder();
  const second = await runFanout({
    ...round(client, stores(createLakeStore({ dir: dirs[1] as string })), T0 + MINUTE),
    onEvent: r2.onEvent,
  });
  expect(second.members.get("b")?.summary).toMatchObject({ resumed: true, inserted: 300 });
  expect(windows(r2.events).map((w) => w.members)).toEqual([["a", "c"], ["b"]]);
  emu.append(entriesAt(spread(T0 + MINUTE, T0 + 2 * MINUTE, 7)), user("lag"));
  const r3 = recorder();
  await runFanout({
    ...round(client, stores(createLakeStore({ dir: dirs[1] as string })), T0 + 3 * MINUTE),
    onEvent: r3.onEvent,
  });
  expect(windows(r3.events).map((w) => w.members)).toEqual([["a", "b", "c"]]);
  await expectLakesHold(dirs, 307);
}, 60_000);

it("a member slower than the others that keeps committing paces the walk: it is not detached, and one walk feeds all three", async () => {
  const client = clientOf("pace");
  emu.append(entriesAt(spread(T0 - 60 * MINUTE, T0 - 1000, 300)), user("pace"));
  const dirs = ["pace-a", "pace-b", "pace-c"].map((d) => join(tmp.dir, d));
  const slow = new ControlledStore(createLakeStore({ dir: dirs[1] as string }));
  // Each of b's commits takes 50 ms more than a's and c's: with the walk at the pace of the fastest,
  // b's queue would pass its bound (40 entries) within a few pages and b would walk again on its own.
  slow.delayMs = 50;
  const r = recorder();
  const stores = {
    a: createLakeStore({ dir: dirs[0] as string }),
    b: slow,
    c: createLakeStore({ dir: dirs[2] as string }),
  };
  const before = client.stats().requests;
  const result = await runFanout({
    ...round(client, stores, T0, { perPage: 10, commitEntries: 10, maxLagEntries: 30 }),
    onEvent: r.onEvent,
  });
  expect(r.events.filter((e) => e.kind === "detached")).toEqual([]);
  expect(windows(r.events)).toEqual([
    { members: ["a", "b", "c"], shared: true, resumed: false, from: expect.any(String) },
  ]);
  for (const id of ["a", "b", "c"]) expect(result.members.get(id)?.summary?.inserted).toBe(300);
  expect(result.requests).toBe(client.stats().requests - before);
  await expectLakesHold(dirs, 300);
}, 60_000);

it("three members in step cost the requests of one sync of the same log: one walk feeds them all", async () => {
  const add = (times: number[]) => emu.append(entriesAt(times), user("requests"));
  add(spread(T0 - 120 * MINUTE, T0 - 1000, 600));
  const single = clientOf("requests");
  const fanned = clientOf("requests");
  const one = join(tmp.dir, "req-sync");
  const dirs = ["req-a", "req-b", "req-c"].map((d) => join(tmp.dir, d));
  const lakes = () => Object.fromEntries(dirs.map((d, i) => [`m${i}`, createLakeStore({ dir: d })]));
  // The same options for both: one walk's pages are the same pages, whoever takes them.
  const options = { settleMs: 0, reconcileMs: 10 * MINUTE, perPage: 25, concurrency: 3, commitIntervalMs: 0 };
  const compare = async (now: number) => {
    const before = [single.stats().requests, fanned.stats().requests];
    const s = await runSync({
      ...options,
      client: single,
      store: createLakeStore({ dir: one }),
      now: () => now,
    });
    const f = await runFanout({
      ...options,
      client: fanned,
      members: Object.entries(lakes()).map(([id, store]) => ({ id, store })),
      now: () => now,
    });
    const sent = {
      sync: single.stats().requests - (before[0] as number),
      fanout: fanned.stats().requests - (before[1] as number),
    };
    for (const m of f.members.values()) expect(m.summary?.inserted).toBe(s.inserted);
    return { sent, s, f };
  };
  const first = await compare(T0);
  // Two probes and ⌈600 / 25⌉ pages at the least; the walk's slices (cut where the data is, split
  // when the pipeline has room) can differ by a page or two between two walks of the same window.
  expect(first.sent.sync).toBeGreaterThanOrEqual(26);
  expect(Math.abs(first.sent.fanout - first.sent.sync)).toBeLessThanOrEqual(3);
  expect(first.f.requests).toBe(first.sent.fanout);
  // A later round, members in step: the reconcile window and the new entries, walked once.
  add([...spread(T0 - 5 * MINUTE, T0 - MINUTE, 10), ...spread(T0 + 1000, T0 + 9 * MINUTE, 90)]);
  const second = await compare(T0 + 10 * MINUTE);
  expect(second.s.inserted).toBe(100);
  expect(Math.abs(second.sent.fanout - second.sent.sync)).toBeLessThanOrEqual(3);
  expect(second.f.requests).toBe(second.sent.fanout);
  await expectLakesHold([one, ...dirs], 700);
}, 60_000);

it("an abort mid-walk: each member commits what it was given, the round rejects with SyncInterruptedError, and the next round stores the rest once", async () => {
  const client = clientOf("abort");
  emu.append(entriesAt(spread(T0 - 60 * MINUTE, T0 - 1000, 300)), user("abort"));
  const dirs = ["abort-a", "abort-b", "abort-c"].map((d) => join(tmp.dir, d));
  const stores = () => Object.fromEntries(dirs.map((d, i) => [`m${i}`, createLakeStore({ dir: d })]));
  const controller = new AbortController();
  const interrupted = await runFanout({
    ...round(client, stores(), T0, { concurrency: 1, commitIntervalMs: 60_000 }),
    signal: controller.signal,
    onProgress: (p) => {
      if (p.entries >= 100) controller.abort();
    },
  }).catch((e: unknown) => e);
  expect(interrupted).toMatchObject({ name: "SyncInterruptedError" });
  for (const d of dirs) {
    const held = await lakeConsistent(d);
    expect(held.running).toBe(true);
    // What was walked before the abort was committed, not only the full commits.
    expect(held.entries.length).toBeGreaterThanOrEqual(100);
    expect(held.entries.length).toBeLessThan(300);
  }
  const next = await runFanout(round(client, stores(), T0 + MINUTE));
  for (const m of next.members.values()) expect(m.summary?.resumed).toBe(true);
  await runFanout(round(client, stores(), T0 + 2 * MINUTE));
  await expectLakesHold(dirs, 300);
}, 60_000);

it("a member whose store cannot be opened is reported and left out; the others complete", async () => {
  const client = clientOf("abort");
  const dirs = ["open-a", "open-c"].map((d) => join(tmp.dir, d));
  const blocker = join(tmp.dir, "open-b-file");
  await import("node:fs/promises").then((fs) => fs.writeFile(blocker, "not a folder"));
  const r = recorder();
  const result = await runFanout({
    ...round(
      client,
      {
        a: createLakeStore({ dir: dirs[0] as string }),
        b: createLakeStore({ dir: blocker }),
        c: createLakeStore({ dir: dirs[1] as string }),
      },
      T0 + 2 * MINUTE,
    ),
    onEvent: r.onEvent,
  });
  expect(result.members.get("b")).toEqual({ error: expect.objectContaining({ name: "SyncUsageError" }) });
  expect(r.events.filter((e) => e.kind !== "window" && e.member === "b")).toEqual([
    { kind: "failed", member: "b", error: expect.anything() },
  ]);
  expect(windows(r.events).map((w) => w.members)).toEqual([["a", "c"]]);
  await expectLakesHold(dirs, 300);
});

it("sync (a round of one member): a commit that failed in the background is followed by no commit past its entries, so the next run stores them", async () => {
  // A store taking one commit at a time, a commit interval longer than the walk: the failed commit
  // is found while the walk goes on. sync used to commit what it had buffered since, with the newer
  // cursor, on its way out: the failed commit's 50 entries were never offered again.
  const entries = entriesAt(spread(T0 - 60 * MINUTE, T0 - 1000, 400));
  emu.append(entries, user("single"));
  const client = clientOf("single");
  const store = new MemoryStore(40);
  store.failCommit(3, "before");
  const options = {
    client,
    store,
    settleMs: 0,
    reconcileMs: MINUTE,
    perPage: 50,
    commitIntervalMs: 60_000,
    concurrency: 1,
    now: () => T0,
  };
  await expect(runSync(options)).rejects.toBeInstanceOf(InjectedCommitError);
  const second = await runSync(options);
  expect(second.resumed).toBe(true);
  expect(store.rows.size).toBe(400);
  expect([...store.insertions.values()].every((n) => n === 1)).toBe(true);
  expect(store.state?.totals.entries).toBe(400);
});
