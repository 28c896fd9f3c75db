/**
 * The follow-poll source (packages/client/src/export/followPoll.ts) against the emulator on loopback (real gRPC),
 * with a clock the test drives: no fixed sleeps. It proves that a round reads the open end once,
 * page by page, that the pause between rounds is the clock's (no request until the test moves
 * time), that new, tied and late entries come out once, that state advances only on ack (an
 * unacknowledged page is read again in the next round), and that aborting ends it without an error.
 */
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import type { Clock } from "../../packages/client/src/domain/clock.js";
import { formatTs, type Ts } from "../../packages/client/src/domain/timestamps.js";
import {
  followPoll,
  followRounds,
  type PollBatch,
  type PollEvent,
  type PollState,
} from "../../packages/client/src/export/followPoll.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";

const PAT = "follow-pat";
const USER = "follow-user";
const START_S = 1_735_689_600; // 2025-01-01T00:00:00Z, where generateEntries starts
const LOOKBACK_NS = 3_600n * 1_000_000_000n;

/** A clock that stands still until the test moves it; sleeps resolve when time passes their end. */
class DrivenClock implements Clock {
  #sleeps: Array<{ until: number; resolve: () => void }> = [];
  #onSleep: Array<(ms: number) => void> = [];
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      this.#sleeps.push({ until: this.ms + ms, resolve });
      signal?.addEventListener("abort", () => resolve(), { once: true });
      for (const f of this.#onSleep.splice(0)) f(ms);
    });
  }
  /** Resolves with the length of the next sleep that starts (or has started and is pending). */
  sleeping(): Promise<number> {
    const pending = this.#sleeps[0];
    if (pending !== undefined) return Promise.resolve(pending.until - this.ms);
    return new Promise((resolve) => this.#onSleep.push(resolve));
  }
  get pendingSleeps(): number {
    return this.#sleeps.length;
  }
  advance(ms: number): void {
    this.ms += ms;
    const due = this.#sleeps.filter((s) => s.until <= this.ms);
    this.#sleeps = this.#sleeps.filter((s) => s.until > this.ms);
    for (const s of due) s.resolve();
  }
}

let emu: EmulatorHandle;
let client: AuditLogClient;
let initial: AuditLogEntry[];

const lineOf = (e: AuditLogEntry) => entryToJsonLine(e);
const newest = (entries: AuditLogEntry[]): Ts =>
  entries.reduce<Ts>((a, e) => {
    const t = e.timestamp as Ts;
    return t.seconds > a.seconds || (t.seconds === a.seconds && t.nanos > a.nanos) ? t : a;
  }, initial[0]?.timestamp as Ts);

beforeAll(async () => {
  initial = generateEntries(250, 11);
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
});
afterAll(async () => {
  client.close();
  await emu.close();
});

function freshState(): PollState {
  const start: Ts = { seconds: START_S - 1, nanos: 0 };
  return { start, position: start, seen: new Map() };
}

/** Everything up to the end of the current round; pages are acknowledged unless `ack` is false. */
async function round(
  it: AsyncIterator<PollEvent>,
  ack = true,
): Promise<{ lines: string[]; pages: PollBatch[]; done: boolean }> {
  const lines: string[] = [];
  const pages: PollBatch[] = [];
  for (;;) {
    const next = await it.next();
    if (next.done) return { lines, pages, done: true };
    const event = next.value;
    if (event.kind === "caught-up") return { lines, pages, done: false };
    pages.push(event);
    lines.push(...event.entries.map((e) => e.line));
    if (ack) event.ack();
  }
}

it("reads the open end page by page, pauses on the clock, and hands on new, tied and late entries once", async () => {
  const clock = new DrivenClock((START_S + 30 * 24 * 3600) * 1000);
  const state = freshState();
  const callsBefore = emu.calls;
  const it = followPoll({
    client,
    state,
    lookbackNs: LOOKBACK_NS,
    perPage: 100,
    follow: true,
    intervalMs: 5_000,
    clock,
  })[Symbol.asyncIterator]();

  const first = await round(it);
  expect(first.lines).toEqual(initial.map(lineOf));
  expect(first.pages.map((p) => p.entries.length)).toEqual([100, 100, 50]);
  expect(emu.calls - callsBefore).toBe(3);
  expect(formatTs(state.position)).toBe(formatTs(newest(initial)));

  // The source now waits on the clock: no request is sent until the test moves time.
  const pending = it.next();
  expect(await clock.sleeping()).toBe(5_000);
  const last = newest(initial);
  // A new entry, one tied with the newest handed on, and one late (inside the lookback).
  const [later, tied, late] = generateEntries(3, 12, { startSeconds: last.seconds + 10 });
  (tied as AuditLogEntry).timestamp = { ...last };
  (late as AuditLogEntry).timestamp = { seconds: last.seconds - 60, nanos: 0 };
  emu.append([later, tied, late] as AuditLogEntry[]);
  expect(emu.calls - callsBefore).toBe(3);
  clock.advance(4_999);
  expect(clock.pendingSleeps).toBe(1);
  clock.advance(1);
  const second: string[] = [];
  let next = await pending;
  while (!next.done && next.value.kind === "page") {
    second.push(...next.value.entries.map((e) => e.line));
    next.value.ack();
    next = await it.next();
  }
  expect(second.sort()).toEqual([later, tied, late].map((e) => lineOf(e as AuditLogEntry)).sort());

  // A quiet round hands on nothing.
  const quiet = it.next();
  clock.advance(await clock.sleeping());
  const third = await quiet;
  expect(third.done).toBe(false);
  expect(third.value.kind).toBe("page");
  expect((third.value as PollBatch).entries).toEqual([]);
  await it.return?.(undefined);
});

it("advances the caller's state only on ack: an unacknowledged round is read again", async () => {
  const clock = new DrivenClock((START_S + 30 * 24 * 3600) * 1000);
  const state = freshState();
  const it = followPoll({
    client,
    state,
    lookbackNs: LOOKBACK_NS,
    perPage: 1000,
    follow: true,
    intervalMs: 1,
    clock,
  })[Symbol.asyncIterator]();
  const before = { ...state };
  const unacked = await round(it, false);
  expect(unacked.lines.length).toBe(emu.size());
  expect(state).toEqual(before);
  // The batch's cursor is where the state would go.
  const page = unacked.pages[0] as PollBatch;
  expect(page.cursor.position).toEqual(page.entries[page.entries.length - 1]?.timestamp);

  const again = it.next();
  clock.advance(await clock.sleeping());
  const firstAgain = (await again).value as PollBatch;
  firstAgain.ack();
  const redelivered = await round(it);
  // The round's first page came with `again`: the whole log is handed on a second time.
  expect(redelivered.lines.length + firstAgain.entries.length).toBe(emu.size());
  expect(state.position).toEqual((unacked.pages[0] as PollBatch).cursor.position);
  await it.return?.(undefined);
});

it("ends after one round without follow, and without an error when aborted in a pause or a request", async () => {
  const clock = new DrivenClock((START_S + 30 * 24 * 3600) * 1000);
  const once = followPoll({
    client,
    state: freshState(),
    lookbackNs: LOOKBACK_NS,
    perPage: 1000,
    follow: false,
    intervalMs: 1,
    clock,
  })[Symbol.asyncIterator]();
  const r = await round(once);
  expect(r.done).toBe(false);
  expect((await once.next()).done).toBe(true);
  expect(clock.pendingSleeps).toBe(0);

  // Aborted while it pauses: the pause ends at once and so does the iteration.
  const controller = new AbortController();
  const following = followPoll({
    client,
    state: freshState(),
    lookbackNs: LOOKBACK_NS,
    perPage: 1000,
    follow: true,
    intervalMs: 60_000,
    clock,
    signal: controller.signal,
  })[Symbol.asyncIterator]();
  await round(following);
  const pending = following.next();
  await clock.sleeping();
  controller.abort();
  expect((await pending).done).toBe(true);

  // Aborted with a request in flight (the emulator delays it): no error either.
  emu.setFaults({ latencyMs: 2_000 });
  try {
    const c2 = new AbortController();
    const slow = followPoll({
      client,
      state: freshState(),
      lookbackNs: LOOKBACK_NS,
      perPage: 1000,
      follow: true,
      intervalMs: 1,
      clock,
      signal: c2.signal,
    })[Symbol.asyncIterator]();
    const inFlight = slow.next();
    c2.abort();
    expect((await inFlight).done).toBe(true);
  } finally {
    emu.resetFaults();
  }
});

it("followRounds: one round without follow, the clock's pause between rounds, again() skips it", async () => {
  const clock = new DrivenClock(0);
  const seen: number[] = [];
  for await (const r of followRounds({ follow: false, intervalMs: 10, clock })) {
    seen.push(r.number);
    if (r.number < 3) r.again();
  }
  expect(seen).toEqual([1, 2, 3]);
  expect(clock.pendingSleeps).toBe(0);

  const controller = new AbortController();
  const rounds = followRounds({ follow: true, intervalMs: 10, clock, signal: controller.signal })[
    Symbol.asyncIterator
  ]();
  expect((await rounds.next()).value?.number).toBe(1);
  const second = rounds.next();
  expect(await clock.sleeping()).toBe(10);
  clock.advance(10);
  expect((await second).value?.number).toBe(2);
  const third = rounds.next();
  await clock.sleeping();
  controller.abort();
  expect((await third).done).toBe(true);
});
