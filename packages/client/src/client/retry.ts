/**
 * Retries with capped exponential backoff and full jitter. Clarifai reports throttling in
 * `status.code` of a gRPC-OK reply, which a gRPC library's own retry policy cannot see, so the client
 * retries here, on {@link ClarifaiError.retryable} errors, within the call's overall deadline.
 */
import { StatusCode } from "../../generated/proto/clarifai/api/status/status_code.js";
import { type Clock, systemClock } from "../domain/clock.js";
import { CanceledError, ClarifaiError, ValidationError } from "../errors.js";

/** Retry policy. */
export interface RetryOptions {
  /** Attempts in total, including the first (1 = no retry). */
  maxAttempts: number;
  /** Backoff cap before the first retry, in ms. */
  initialDelayMs: number;
  /** Largest backoff cap, in ms. */
  maxDelayMs: number;
  /** Growth of the backoff cap per retry. */
  multiplier: number;
}

/** Defaults: 5 attempts, backoff caps 200 ms, 400 ms, 800 ms, 1.6 s (… up to 10 s). */
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  multiplier: 2,
});

/** The longest wait a Node timer can make, in ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Checks a merged retry policy. */
export function validateRetry(r: RetryOptions): RetryOptions {
  const check = (field: keyof RetryOptions, ok: boolean, allowed: string) => {
    if (!ok) throw new ValidationError(`retry.${field}`, r[field], allowed, "invalid retry option");
  };
  check(
    "maxAttempts",
    Number.isInteger(r.maxAttempts) && r.maxAttempts >= 1 && r.maxAttempts <= 100,
    "an integer 1-100",
  );
  check("initialDelayMs", Number.isFinite(r.initialDelayMs) && r.initialDelayMs >= 0, "a number of ms ≥ 0");
  // A Node timer fires at once when asked to wait longer than 2^31 - 1 ms.
  check(
    "maxDelayMs",
    Number.isFinite(r.maxDelayMs) && r.maxDelayMs >= r.initialDelayMs && r.maxDelayMs <= MAX_TIMER_MS,
    `a number of ms ≥ initialDelayMs and ≤ ${MAX_TIMER_MS}`,
  );
  check("multiplier", Number.isFinite(r.multiplier) && r.multiplier >= 1, "a number ≥ 1");
  return {
    maxAttempts: r.maxAttempts,
    initialDelayMs: r.initialDelayMs,
    maxDelayMs: r.maxDelayMs,
    multiplier: r.multiplier,
  };
}

/**
 * Full-jitter backoff before retry number `retry` (1 = first retry): uniform in
 * [0, min(maxDelayMs, initialDelayMs × multiplier^(retry−1))).
 */
export function backoffDelay(
  retry: number,
  policy: RetryOptions,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (retry - 1));
  return Math.floor(random() * cap);
}

/**
 * Waits `ms` on `clock`, or rejects with a {@link CanceledError} as soon as `signal` aborts (before
 * or during the wait).
 */
export async function sleep(
  ms: number,
  signal?: AbortSignal,
  attempts = 1,
  clock: Clock = systemClock,
): Promise<void> {
  if (!signal?.aborted) await clock.sleep(ms, signal);
  if (signal?.aborted) {
    throw new CanceledError({
      code: StatusCode.REQUEST_CANCELED_BY_USER,
      description: "the call was aborted by its AbortSignal during a retry backoff",
      attempts,
    });
  }
}

/** What {@link withRetry} needs to know about the call. */
export interface RetryContext {
  policy: RetryOptions;
  /** Epoch ms (by `clock`) after which no attempt may start or wait. */
  deadline: number;
  signal?: AbortSignal;
  /** What the backoff waits on and the deadline is read from (default {@link systemClock}). */
  clock?: Clock;
  random?: () => number;
  /**
   * The wait before retrying after `err` (attempt `n` failed), when not the policy's backoff:
   * return undefined for the backoff. The client returns 0 for a throttled call when its request
   * budget paces the retry instead (packages/client/src/client/rateBudget.ts).
   */
  delayFor?: (err: ClarifaiError, n: number) => number | undefined;
  /**
   * Told of every failed attempt once what follows is decided: `retryInMs` is the wait before the
   * next attempt, undefined when the call ends with `err` (the client's `onRequest` observer).
   */
  onFailure?: (err: unknown, n: number, retryInMs: number | undefined) => void;
}

/**
 * Runs `attempt(n)` (n = 1, 2, …) until it succeeds, fails with a non-retryable error, runs out of
 * attempts, or the next backoff would end past the deadline. The error thrown carries the attempts
 * made; the result is returned with them.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  ctx: RetryContext,
): Promise<{ value: T; attempts: number }> {
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n };
    } catch (err) {
      const delay = retryDelay(err, n, ctx);
      ctx.onFailure?.(err, n, delay);
      if (delay === undefined) throw err;
      await sleep(delay, ctx.signal, n, ctx.clock ?? systemClock);
    }
  }
}

/** The wait before retrying after attempt `n` failed with `err`, or undefined: no retry. */
function retryDelay(err: unknown, n: number, ctx: RetryContext): number | undefined {
  if (!(err instanceof ClarifaiError)) return undefined;
  err.attempts = n;
  if (!err.retryable || n >= ctx.policy.maxAttempts) return undefined;
  const delay = ctx.delayFor?.(err, n) ?? backoffDelay(n, ctx.policy, ctx.random);
  // A wait that would outlive the deadline cannot lead to a successful attempt.
  return (ctx.clock ?? systemClock).now() + delay >= ctx.deadline ? undefined : delay;
}
