/**
 * A {@link Clock} that tests drive: `now()` stands still and every `sleep` waits until the test
 * advances time past its end (or its signal aborts). A retry backoff of 30 s then costs a test
 * nothing, and "the second attempt comes after the first backoff" is asserted by advancing to just
 * before it and just after it instead of racing a real timer.
 *
 * Code under test usually does real I/O between two sleeps (an HTTP request, a gRPC call), which
 * advancing time cannot wait for: `untilSleeping(n)` resolves once `n` sleeps are pending, so a
 * test waits for the code to reach its next sleep and then advances.
 */
import type { Clock } from "../../packages/client/src/domain/clock.js";

interface Sleeper {
  /** Clock time at which the sleep ends. */
  at: number;
  /** Order of the sleep calls: sleeps ending at one instant wake in call order. */
  seq: number;
  wake: () => void;
}

/** Epoch ms a ManualClock starts at unless told otherwise: 2026-01-01T00:00:00Z. */
export const MANUAL_CLOCK_START = Date.UTC(2026, 0, 1);

/** Lets every promise callback and I/O callback that is ready run (one turn of the event loop). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A clock whose time moves only when the test calls {@link ManualClock.advance}. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #sleepers = new Set<Sleeper>();
  #watchers: { count: number; resolve: () => void }[] = [];
  /** Every sleep asked for, in ms, in call order (aborted ones included): what a test asserts backoffs with. */
  readonly requested: number[] = [];

  constructor(start = MANUAL_CLOCK_START) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.requested.push(ms);
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        wake: () => {
          this.#sleepers.delete(sleeper);
          signal?.removeEventListener("abort", sleeper.wake);
          resolve();
        },
      };
      this.#sleepers.add(sleeper);
      signal?.addEventListener("abort", sleeper.wake, { once: true });
      this.#notify();
    });
  }

  /** Sleeps not yet ended. */
  get pending(): number {
    return this.#sleepers.size;
  }

  /** When the earliest pending sleep ends (clock time), or undefined when none is pending. */
  get nextWakeAt(): number | undefined {
    return this.#next()?.at;
  }

  /** Resolves once at least `count` sleeps are pending (at once when they already are). */
  untilSleeping(count = 1): Promise<void> {
    if (this.#sleepers.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ count, resolve }));
  }

  /**
   * Moves time forward by `ms`, waking every sleep that ends on the way in order of its end, each at
   * its own instant; after each wake the event loop turns once, so a sleep the woken code starts
   * within the span is woken in it too.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): time only moves forward`);
    const target = this.#now + ms;
    for (let next = this.#next(); next !== undefined && next.at <= target; next = this.#next()) {
      this.#now = next.at;
      next.wake();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /**
   * Advances to each next sleep's end until none is pending; throws after `maxWakes` wakes (code
   * that sleeps forever in a loop would otherwise hang the test).
   */
  async runUntilIdle(maxWakes = 1000): Promise<void> {
    for (let wakes = 0; ; wakes++) {
      const next = this.#next();
      if (next === undefined) return;
      if (wakes >= maxWakes) throw new Error(`runUntilIdle: still sleeping after ${maxWakes} wakes`);
      await this.advance(next.at - this.#now);
    }
  }

  #next(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.#sleepers) {
      if (best === undefined || s.at < best.at || (s.at === best.at && s.seq < best.seq)) best = s;
    }
    return best;
  }

  #notify(): void {
    const ready = this.#watchers.filter((w) => this.#sleepers.size >= w.count);
    if (ready.length === 0) return;
    this.#watchers = this.#watchers.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
