/**
 * Waiting on an event instead of a fixed sleep: a test that needs "the server has seen the request"
 * or "the file exists" polls that condition, bounded by a deadline, rather than sleeping a guessed
 * time that is too long on a fast machine and too short on a loaded one.
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 20 s: far beyond any healthy wait, short of jest's 60 s). */
  timeoutMs?: number;
  /** What is waited for, named in the timeout's error. */
  what?: string;
  /** Pause between two checks (default 5 ms). */
  intervalMs?: number;
}

/**
 * Resolves as soon as `condition` holds (checked at once, then every `intervalMs`); rejects when it
 * still does not hold after `timeoutMs`.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, what = "a condition", intervalMs = 5 }: WaitForOptions = {},
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
