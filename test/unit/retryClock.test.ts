import { describe, expect, it } from "@jest/globals";
import { DEFAULT_RETRY, sleep, withRetry } from "../../packages/client/src/client/retry.js";
import { CanceledError, errorFromStatus } from "../../packages/client/src/errors.js";
import { ManualClock } from "../helpers/manualClock.js";

const THROTTLED = 11005;
/** Math.random stand-in: the largest backoff under each cap. */
const top = () => 0.999999;

describe("client retry backoff on a driven clock", () => {
  it("waits each capped exponential backoff on the clock before the next attempt", async () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const run = withRetry(
      async (n) => {
        at.push(clock.now());
        if (n < 4) throw errorFromStatus({ code: THROTTLED });
        return "done";
      },
      { policy: DEFAULT_RETRY, deadline: clock.now() + 60_000, clock, random: top },
    );
    await clock.untilSleeping();
    // Backoff caps 200, 400, 800 ms: one ms short of each, the next attempt has not started.
    await clock.advance(198);
    expect(at).toHaveLength(1);
    await clock.advance(1);
    expect(at).toHaveLength(2);
    await clock.runUntilIdle();
    await expect(run).resolves.toEqual({ value: "done", attempts: 4 });
    expect(clock.requested).toEqual([199, 399, 799]);
    const start = at[0];
    expect(at.map((t) => t - start)).toEqual([0, 199, 598, 1397]);
  });

  it("gives up, without waiting, when the next backoff would end past the deadline read from the clock", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw errorFromStatus({ code: THROTTLED });
      },
      // Room for the first backoff (199 ms) and not the second (399 ms after it).
      { policy: DEFAULT_RETRY, deadline: clock.now() + 500, clock, random: top },
    );
    const settled = run.catch((e: unknown) => e);
    await clock.untilSleeping();
    await clock.runUntilIdle();
    expect(await settled).toMatchObject({ code: THROTTLED, attempts: 2 });
    expect(calls).toBe(2);
    expect(clock.requested).toEqual([199]);
  });

  it("an abort during a backoff rejects with CanceledError at once, time standing still", async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const run = withRetry(
      async () => {
        throw errorFromStatus({ code: THROTTLED });
      },
      { policy: DEFAULT_RETRY, deadline: clock.now() + 60_000, clock, random: top, signal: ac.signal },
    );
    await clock.untilSleeping();
    const before = clock.now();
    ac.abort();
    await expect(run).rejects.toBeInstanceOf(CanceledError);
    await expect(run).rejects.toMatchObject({ attempts: 1 });
    expect(clock.now()).toBe(before);
    expect(clock.pending).toBe(0);
  });

  it("sleep rejects at once for a signal aborted before it, and resolves at its end otherwise", async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    ac.abort();
    await expect(sleep(1000, ac.signal, 3, clock)).rejects.toMatchObject({ attempts: 3 });
    expect(clock.pending).toBe(0);
    let done = false;
    const p = sleep(1000, undefined, 1, clock).then(() => {
      done = true;
    });
    await clock.advance(999);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(true);
  });
});
