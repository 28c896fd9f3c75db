import { describe, expect, it } from "@jest/globals";
import { MANUAL_CLOCK_START, ManualClock } from "../helpers/manualClock.js";

/** Records when (clock time) each named sleep ended. */
function recorder(clock: ManualClock) {
  const woke: [string, number][] = [];
  const nap = (name: string, ms: number, signal?: AbortSignal) =>
    clock.sleep(ms, signal).then(() => {
      woke.push([name, clock.now()]);
    });
  return { woke, nap };
}

describe("ManualClock", () => {
  it("stands still until advanced, then wakes each sleep at its own instant, in order of its end", async () => {
    const clock = new ManualClock();
    expect(clock.now()).toBe(MANUAL_CLOCK_START);
    const { woke, nap } = recorder(clock);
    void nap("late", 300);
    void nap("early", 100);
    void nap("tie-first", 200);
    void nap("tie-second", 200);
    expect(clock.pending).toBe(4);
    expect(clock.nextWakeAt).toBe(MANUAL_CLOCK_START + 100);
    await clock.advance(99);
    expect(woke).toEqual([]);
    expect(clock.now()).toBe(MANUAL_CLOCK_START + 99);
    await clock.advance(151);
    expect(woke).toEqual([
      ["early", MANUAL_CLOCK_START + 100],
      ["tie-first", MANUAL_CLOCK_START + 200],
      ["tie-second", MANUAL_CLOCK_START + 200],
    ]);
    expect(clock.now()).toBe(MANUAL_CLOCK_START + 250);
    expect(clock.pending).toBe(1);
    expect(clock.requested).toEqual([300, 100, 200, 200]);
  });

  it("wakes, within one advance, a sleep started by code another sleep woke", async () => {
    const clock = new ManualClock(0);
    const times: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        times.push(clock.now());
      }
    })();
    await clock.advance(250);
    expect(times).toEqual([100, 200]);
    await clock.runUntilIdle();
    await loop;
    expect(times).toEqual([100, 200, 300]);
    expect(clock.pending).toBe(0);
  });

  it("a zero or negative sleep ends at the next advance, not before", async () => {
    const clock = new ManualClock(0);
    const { woke, nap } = recorder(clock);
    void nap("zero", 0);
    void nap("negative", -5);
    await Promise.resolve();
    expect(woke).toEqual([]);
    await clock.advance(0);
    expect(woke).toEqual([
      ["zero", 0],
      ["negative", 0],
    ]);
  });

  it("an abort ends a sleep at once without advancing time; an aborted signal does not sleep at all", async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const { woke, nap } = recorder(clock);
    const p = nap("aborted", 60_000, ac.signal);
    void nap("other", 60_000);
    expect(clock.pending).toBe(2);
    ac.abort();
    await p;
    expect(woke).toEqual([["aborted", 0]]);
    expect(clock.pending).toBe(1);
    await nap("already", 60_000, ac.signal);
    expect(woke).toEqual([
      ["aborted", 0],
      ["already", 0],
    ]);
    expect(clock.pending).toBe(1);
  });

  it("untilSleeping resolves when the code under test reaches its sleep", async () => {
    const clock = new ManualClock(0);
    let reached = false;
    const waiting = clock.untilSleeping(2).then(() => {
      reached = true;
    });
    void clock.sleep(10);
    await Promise.resolve();
    expect(reached).toBe(false);
    void clock.sleep(10);
    await waiting;
    expect(reached).toBe(true);
    await expect(clock.untilSleeping(1)).resolves.toBeUndefined();
  });

  it("runUntilIdle gives up on code that sleeps forever, and time never moves back", async () => {
    const clock = new ManualClock(0);
    let stop = false;
    const forever = (async () => {
      while (!stop) await clock.sleep(1000);
    })();
    await expect(clock.runUntilIdle(5)).rejects.toThrow(/still sleeping after 5 wakes/);
    expect(clock.now()).toBe(5000);
    stop = true;
    await clock.runUntilIdle();
    await forever;
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
  });
});
