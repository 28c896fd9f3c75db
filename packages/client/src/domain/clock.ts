/**
 * Time as the library sees it: what "now" is and how to wait. Everything that waits (retry backoff,
 * the rate budget, the pause between follow polls, webhook retries, lock retries) takes a `Clock`, so
 * a test can drive time instead of sleeping through it (see test/helpers/manualClock.ts).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds, or as soon as `signal` aborts (then without an error: a
   * caller that must fail on abort checks `signal.aborted` afterwards). The timer never keeps the
   * process alive on its own when `unref` is true.
   */
  sleep(ms: number, signal?: AbortSignal, options?: { unref?: boolean }): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal, options) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      if (options?.unref) timer.unref();
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  },
};
