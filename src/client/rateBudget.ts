/**
 * The request budget of one client: every call of an `AuditLogClient` (every page of an export,
 * every poll of `tail`, every retry) waits here for its turn, so that the client stays under the
 * account's requests-per-second limit instead of spending calls on being throttled.
 *
 * Pacing: calls are spread, not burst — released one at a time, at least 1/rate apart (rate =
 * {@link PACE} × the limit), in arrival order. Two guards keep it exact against a server that counts
 * in a one-second sliding window, as Clarifai's gateway and the emulator do: a window guard (never
 * more than ⌊limit⌋ of this client's not-throttled calls within 1 s + {@link WINDOW_MARGIN_MS}),
 * and a timer that fires late only delays the next call by what it could not catch up.
 *
 * Adapting: a throttled reply ("exceeded limit of N requests per second") teaches the limit when
 * its details name one: the budget then paces at that limit (or keeps a lower one it was given). A
 * throttle while already pacing under the limit means someone else spends the same account's
 * budget (another process on the same PAT): the rate is cut by {@link DECREASE} and grows back by
 * {@link INCREASE_SHARE} of the limit per second of clean replies (additive increase,
 * multiplicative decrease). A call sent before the last cut does not cut again: its trouble was
 * already answered.
 */
import { performance } from "node:perf_hooks";
import { StatusCode } from "../../generated/proto/clarifai/api/status/status_code.js";
import { CanceledError } from "../errors.js";

/** Clarifai's documented default limit: 15 requests per second per account. */
export const CLARIFAI_DEFAULT_RATE_LIMIT = 15;
/** Highest limit accepted, in requests per second. */
export const MAX_RATE_LIMIT = 10_000;
/** Share of the limit the budget paces at: the rest absorbs network jitter between calls. */
export const PACE = 0.97;
/** Added to the server's one-second window by the window guard, in ms (jitter between arrivals). */
export const WINDOW_MARGIN_MS = 25;
/** Factor the rate is cut by when throttled while pacing under the limit. */
export const DECREASE = 0.7;
/** Share of the limit the rate grows back by per second of clean replies. */
export const INCREASE_SHARE = 0.05;
/** Slowest the budget ever paces, in requests per second. */
export const MIN_RATE = 0.1;
const WINDOW_MS = 1000;
const LIMIT_IN_DETAILS = /exceeded (?:the )?limit of (\d+(?:\.\d+)?) requests? per second/i;

/** The limit named by a throttled reply's details, e.g. "exceeded limit of 15 requests per second". */
export function limitFromDetails(details: string | undefined): number | undefined {
  const m = details === undefined ? null : LIMIT_IN_DETAILS.exec(details);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) && n > 0 && n <= MAX_RATE_LIMIT ? n : undefined;
}

/** Counters of one client's requests (see {@link RateBudget.stats}). */
export interface RequestStats {
  /** Attempts sent (retries included). */
  requests: number;
  /** Attempts the server answered with anything but throttling (errors included). */
  served: number;
  /** Attempts answered CONN_THROTTLED (or gRPC RESOURCE_EXHAUSTED). */
  throttled: number;
  /** Attempts still waiting for their reply. */
  inFlight: number;
  /** Seconds from the first attempt sent to the last reply (0 before any reply). */
  seconds: number;
  /** requests / seconds (0 when no time has passed). */
  averageRate: number;
  /** Summed time calls waited for their turn, in ms. */
  waitedMs: number;
  /** The limit the budget keeps under (given, or learned), or undefined when unknown (unpaced). */
  limit: number | undefined;
  /** The limit a throttled reply named last, if any did. */
  learnedLimit: number | undefined;
  /** The rate the budget paces at now, requests/s (Infinity when unpaced). */
  rate: number;
  /** Times the rate was cut because the server throttled while the budget paced under the limit. */
  decreases: number;
}

/** How a budget starts. */
export interface RateBudgetOptions {
  /**
   * The account's limit in requests per second; undefined: unknown, so calls are not paced until a
   * throttled reply names it.
   */
  limit: number | undefined;
  /** false: no pacing and no adapting at all, counting only. */
  enabled?: boolean;
  /** Monotonic clock in ms (tests). */
  clock?: () => number;
}

/** One call's turn: when it was released, and at which rate. */
export interface Ticket {
  readonly sentAt: number;
  /** Counted by the window guard until the server says it did not count it (throttled). */
  counted: boolean;
  settled: boolean;
}

interface Waiter {
  resolve: (t: Ticket) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  queuedAt: number;
}

/** See the module comment. */
export class RateBudget {
  readonly #enabled: boolean;
  readonly #clock: () => number;
  #limit: number | undefined;
  #learned: number | undefined;
  #rate: number;
  /** When the next call is due by spacing (GCRA's theoretical arrival time). */
  #due = 0;
  /** Tickets counted by the window guard, oldest first (pruned past the window). */
  #window: Ticket[] = [];
  #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastCutAt = Number.NEGATIVE_INFINITY;
  #requests = 0;
  #served = 0;
  #throttled = 0;
  #decreases = 0;
  #waitedMs = 0;
  #firstSentAt: number | undefined;
  #lastReplyAt: number | undefined;

  constructor(options: RateBudgetOptions) {
    this.#enabled = options.enabled ?? true;
    this.#clock = options.clock ?? (() => performance.now());
    this.#limit = options.limit;
    this.#rate =
      this.#enabled && options.limit !== undefined ? PACE * options.limit : Number.POSITIVE_INFINITY;
  }

  /**
   * Waits for the next call's turn. Rejects with a `CanceledError` as soon as `signal` aborts.
   * `attempts`: the attempts the call has made so far (for that error).
   */
  acquire(signal?: AbortSignal, attempts = 0): Promise<Ticket> {
    if (signal?.aborted) return Promise.reject(canceled(attempts));
    if (!this.#enabled || (this.#queue.length === 0 && this.#nextAt(this.#clock()) <= this.#clock())) {
      return Promise.resolve(this.#release(this.#clock()));
    }
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        queuedAt: this.#clock(),
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(canceled(attempts));
          this.#pump();
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /**
   * Reports a call's reply: `throttled` when the server refused it for its rate (with the reply's
   * details, which may name the limit), else `served`.
   */
  settle(ticket: Ticket, outcome: "served" | "throttled", details?: string): void {
    if (ticket.settled) return;
    ticket.settled = true;
    const now = this.#clock();
    this.#lastReplyAt = now;
    if (outcome === "served") {
      this.#served++;
      if (this.#enabled) this.#grow();
      return;
    }
    this.#throttled++;
    // The server did not count it: the window guard must not either.
    ticket.counted = false;
    if (!this.#enabled) return;
    const named = limitFromDetails(details);
    if (named !== undefined) {
      this.#learned = named;
      if (this.#limit === undefined || named < this.#limit) this.#limit = named;
    }
    const limit = this.#limit;
    // Unknown and not named (e.g. a concurrency limit): nothing to pace at; the retry backs off.
    if (limit === undefined || ticket.sentAt < this.#lastCutAt) return;
    if (this.#rate > PACE * limit) {
      // Faster than the limit (unpaced, or the limit just learned): pace at it, no further cut.
      this.#rate = PACE * limit;
    } else {
      this.#rate = Math.max(MIN_RATE, this.#rate * DECREASE);
      this.#decreases++;
    }
    this.#lastCutAt = now;
    this.#due = Math.max(this.#due, now + 1000 / this.#rate);
    this.#pump();
  }

  /** Whether calls are paced (a limit is known and the budget is on). */
  get paced(): boolean {
    return this.#enabled && Number.isFinite(this.#rate);
  }

  /** The counters (see {@link RequestStats}). */
  stats(): RequestStats {
    const seconds =
      this.#firstSentAt === undefined || this.#lastReplyAt === undefined
        ? 0
        : Math.max(0, this.#lastReplyAt - this.#firstSentAt) / 1000;
    return {
      requests: this.#requests,
      served: this.#served,
      throttled: this.#throttled,
      inFlight: this.#requests - this.#served - this.#throttled,
      seconds,
      averageRate: seconds > 0 ? this.#requests / seconds : 0,
      waitedMs: this.#waitedMs,
      limit: this.#limit,
      learnedLimit: this.#learned,
      rate: this.#rate,
      decreases: this.#decreases,
    };
  }

  /** Additive increase: each clean reply adds INCREASE_SHARE × limit / rate, i.e. that per second. */
  #grow(): void {
    const ceiling = this.#limit === undefined ? Number.POSITIVE_INFINITY : PACE * this.#limit;
    if (!(this.#rate < ceiling)) return;
    const step = INCREASE_SHARE * (this.#limit ?? this.#rate);
    this.#rate = Math.min(ceiling, this.#rate + step / this.#rate);
  }

  #prune(now: number): void {
    const horizon = now - WINDOW_MS - WINDOW_MARGIN_MS;
    let drop = 0;
    while (drop < this.#window.length) {
      const t = this.#window[drop] as Ticket;
      if (t.counted && t.sentAt > horizon) break;
      drop++;
    }
    if (drop > 0) this.#window.splice(0, drop);
  }

  /** The earliest time the next call may go. */
  #nextAt(now: number): number {
    if (!this.#enabled) return now;
    let at = Number.isFinite(this.#rate) ? this.#due : now;
    const limit = this.#limit;
    if (limit !== undefined && limit >= 1) {
      this.#prune(now);
      const room = Math.floor(limit);
      const counted = this.#window.filter((t) => t.counted);
      if (counted.length >= room) {
        const leaving = counted[counted.length - room] as Ticket;
        at = Math.max(at, leaving.sentAt + WINDOW_MS + WINDOW_MARGIN_MS);
      }
    }
    return at;
  }

  #release(now: number): Ticket {
    const ticket: Ticket = { sentAt: now, counted: true, settled: false };
    this.#requests++;
    this.#firstSentAt ??= now;
    if (!this.#enabled) return ticket;
    if (Number.isFinite(this.#rate)) {
      const interval = 1000 / this.#rate;
      const late = now - this.#due;
      // A timer that fired a little late is caught up on the next call; idle time is not saved up.
      this.#due = (late >= 0 && late <= interval / 2 ? this.#due : Math.max(now, this.#due)) + interval;
    }
    this.#prune(now);
    this.#window.push(ticket);
    return ticket;
  }

  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0) {
      const now = this.#clock();
      const at = this.#nextAt(now);
      if (at > now) {
        this.#timer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(at - now)));
        return;
      }
      const waiter = this.#queue.shift() as Waiter;
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      this.#waitedMs += now - waiter.queuedAt;
      waiter.resolve(this.#release(now));
    }
  }
}

function canceled(attempts: number): CanceledError {
  return new CanceledError({
    code: StatusCode.REQUEST_CANCELED_BY_USER,
    description: "the call was aborted by its AbortSignal while waiting for its turn in the request budget",
    attempts,
  });
}
