/**
 * The emulator's per-account request rate limit, as Clarifai enforces it: a call over the limit is
 * answered in-band with CONN_THROTTLED (11005), description "Making too many requests", details
 * "exceeded limit of N requests per second" (REST: HTTP 429 with that status as the body).
 *
 * Counting: a sliding window of one second per account (the user a PAT belongs to). A call is
 * admitted when fewer than N calls of its account were admitted in the second before it arrived,
 * (arrival − 1000 ms, arrival]; the decision is made when the call arrives, before any injected
 * latency. Throttled calls do not count, so a client that waits for the window to move on is served
 * again at once. Calls without a known PAT are not counted (they are refused anyway).
 */
import { performance } from "node:perf_hooks";

/** Length of the counting window, in ms ("per second"). */
export const RATE_WINDOW_MS = 1000;
/** Highest accepted limit, in requests per second. */
export const MAX_EMULATOR_RATE_LIMIT = 10_000;

/** Clarifai's details text of a throttled call under a limit of `limit` requests per second. */
export function throttledDetails(limit: number): string {
  return `exceeded limit of ${limit} requests per second`;
}

/** Checks a rate limit (an integer 1-10000, or undefined for none); throws a RangeError naming it. */
export function validateRateLimit(v: unknown, name = "rateLimit"): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_EMULATOR_RATE_LIMIT) {
    throw new RangeError(
      `${name} must be an integer number of requests per second from 1 to ${MAX_EMULATOR_RATE_LIMIT} (or undefined for no limit), got ${String(v)}`,
    );
  }
  return v;
}

/** Admission times of one account's calls inside the window, oldest first. */
interface Window {
  times: number[];
  head: number;
}

/** Sliding-window admission per account; see the module comment for how it counts. */
export class RateLimiter {
  #limit: number | undefined;
  readonly #windows = new Map<string, Window>();
  /** Calls refused by the limit since start-up. */
  throttled = 0;
  /** Calls admitted by the limit (counted in a window) since start-up. */
  admitted = 0;

  constructor(
    limit?: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.#limit = validateRateLimit(limit);
  }

  /** The limit in requests per second, or undefined when there is none. */
  get limit(): number | undefined {
    return this.#limit;
  }

  /** Sets (or with undefined removes) the limit; the windows restart empty. */
  set(limit: number | undefined): void {
    this.#limit = validateRateLimit(limit);
    this.#windows.clear();
  }

  /** Whether a call of `account` arriving now is admitted (and if so, counts it). */
  admit(account: string): boolean {
    const limit = this.#limit;
    if (limit === undefined) return true;
    const now = this.clock();
    let w = this.#windows.get(account);
    if (w === undefined) {
      w = { times: [], head: 0 };
      this.#windows.set(account, w);
    }
    while (w.head < w.times.length && (w.times[w.head] as number) <= now - RATE_WINDOW_MS) w.head++;
    if (w.head > 1024 && w.head * 2 > w.times.length) {
      w.times = w.times.slice(w.head);
      w.head = 0;
    }
    if (w.times.length - w.head >= limit) {
      this.throttled++;
      return false;
    }
    w.times.push(now);
    this.admitted++;
    return true;
  }
}
