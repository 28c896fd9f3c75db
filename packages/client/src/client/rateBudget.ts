/**
 * The request budget of one client: every call of an `AuditLogClient` (every page of an export,
 * every poll of `tail`, every retry) waits here for its turn, so that the client stays under the
 * account's requests-per-second limit instead of spending calls on being throttled.
 *
 * Pacing: calls are spread, not burst — released one at a time, at least 1/rate apart (rate =
 * {@link PACE} × the limit), in order of priority, then of arrival. Two guards keep it exact
 * against a server that counts in a one-second sliding window, as Clarifai's gateway and the
 * emulator do: a window guard (never more than ⌊limit⌋ of this client's not-throttled calls within
 * 1 s + {@link WINDOW_MARGIN_MS}, each call counted from the latest time it may have reached the
 * server, which a long round trip moves later), and a release that came late may be caught up by
 * one turn (two calls in a row at most).
 *
 * Not knowing the limit (a loopback endpoint), the budget does not pace, but for the first second
 * keeps at most {@link START_IN_FLIGHT} calls in flight (a slow start): a low limit then costs about
 * that many throttled calls before a throttled reply names it.
 *
 * Adapting: a throttled reply ("exceeded limit of N requests per second") teaches the limit when
 * its details name one: the budget then paces at that limit (or keeps a lower one it was given). A
 * throttle that this client's own calls explain (a full window of them) is jitter: the window
 * guard's margin widens. A throttle while this client had fewer calls in the window than the limit
 * means someone else spends the same account's budget (another process on the same PAT): the rate
 * is cut by {@link DECREASE} and grows back by
 * {@link INCREASE_SHARE} of the limit per second of clean replies (additive increase,
 * multiplicative decrease). A call sent before the last cut does not cut again: its trouble was
 * already answered.
 */
import { performance } from "node:perf_hooks";
import { StatusCode } from "../../generated/proto/clarifai/api/status/status_code.js";
import { CanceledError } from "../errors.js";
import type { RequestStats } from "./requestStats.js";

export type { RequestStats };

/** Clarifai's documented default limit: 15 requests per second per account. */
export const CLARIFAI_DEFAULT_RATE_LIMIT = 15;
/** Highest limit accepted, in requests per second. */
export const MAX_RATE_LIMIT = 10_000;
/** Share of the limit the budget paces at: the rest absorbs network jitter between calls. */
export const PACE = 0.97;
/**
 * Added to the server's one-second window by the window guard, in ms, to start with: the jitter
 * between two calls' trips to the server. A throttle that this client's own calls explain (it had
 * a full window's worth in flight or served) widens it by {@link MARGIN_STEP_MS}, up to
 * {@link MAX_MARGIN_MS}; clean replies narrow it back slowly.
 */
export const WINDOW_MARGIN_MS = 25;
export const MARGIN_STEP_MS = 15;
export const MAX_MARGIN_MS = 250;
/** Factor the rate is cut by when throttled while pacing under the limit. */
export const DECREASE = 0.7;
/** Share of the limit the rate grows back by per second of clean replies. */
export const INCREASE_SHARE = 0.05;
/** Slowest the budget ever paces, in requests per second. */
export const MIN_RATE = 0.1;
/**
 * Calls in flight at most while the limit is unknown, until a second (the server's window) has
 * passed since the first reply:
 * if the endpoint has a limit that low, about this many calls are throttled before the first
 * throttled reply names it, not the whole first burst. Past that second nothing is capped.
 */
export const START_IN_FLIGHT = 4;
const WINDOW_MS = 1000;
/** Round trips kept for the shortest recent one (see {@link RateBudget.arrivalBound}). */
const RTT_SAMPLES = 32;
const LIMIT_IN_DETAILS = /exceeded (?:the )?limit of (\d+(?:\.\d+)?) requests? per second/i;

/** The limit named by a throttled reply's details, e.g. "exceeded limit of 15 requests per second". */
export function limitFromDetails(details: string | undefined): number | undefined {
  const m = details === undefined ? null : LIMIT_IN_DETAILS.exec(details);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) && n > 0 && n <= MAX_RATE_LIMIT ? n : undefined;
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
  /** When its reply came (set by {@link RateBudget.settle}). */
  repliedAt?: number;
}

interface Waiter {
  priority: number;
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
  #graceUntil = Number.NEGATIVE_INFINITY;
  #margin = WINDOW_MARGIN_MS;
  #widenings = 0;
  #requests = 0;
  #served = 0;
  #throttled = 0;
  #decreases = 0;
  #waitedMs = 0;
  #idleMs = 0;
  /** Since when no call has been waiting. */
  #emptySince: number | undefined;
  #firstSentAt: number | undefined;
  #lastReplyAt: number | undefined;
  #firstReplyAt: number | undefined;
  /** The last {@link RTT_SAMPLES} round trips (ring), and where the next goes. */
  readonly #rtts: number[] = [];
  #rttAt = 0;
  #minRtt: number | undefined;

  constructor(options: RateBudgetOptions) {
    this.#enabled = options.enabled ?? true;
    this.#clock = options.clock ?? (() => performance.now());
    this.#limit = options.limit;
    this.#rate =
      this.#enabled && options.limit !== undefined ? PACE * options.limit : Number.POSITIVE_INFINITY;
  }

  /**
   * Waits for the next call's turn. Rejects with a `CanceledError` as soon as `signal` aborts.
   * `attempts`: the attempts the call has made so far (for that error). Waiting calls go in order
   * of `priority` (lower first; default 0), then of arrival: an export gives its pages their place
   * in the window, so the turns go to the pages the writer needs next.
   */
  acquire(signal?: AbortSignal, attempts = 0, priority = 0): Promise<Ticket> {
    if (signal?.aborted) return Promise.reject(canceled(attempts));
    const now = this.#clock();
    if (this.#queue.length === 0 && this.#emptySince !== undefined) {
      const at = this.#nextAt(now);
      if (at < now) this.#idleMs += now - Math.max(at, this.#emptySince);
    }
    if (!this.#enabled || (this.#queue.length === 0 && this.#nextAt(now) <= now)) {
      this.#emptySince = now;
      return Promise.resolve(this.#release(now));
    }
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
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
      let at = this.#queue.length;
      while (at > 0 && (this.#queue[at - 1] as Waiter).priority > priority) at--;
      this.#queue.splice(at, 0, waiter);
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
    this.#firstReplyAt ??= now;
    ticket.repliedAt = now;
    this.#observeRtt(now - ticket.sentAt);
    if (outcome === "served") {
      this.#served++;
      if (this.#enabled) {
        this.#grow();
        if (this.#margin > WINDOW_MARGIN_MS) this.#margin = Math.max(WINDOW_MARGIN_MS, this.#margin - 0.2);
      }
      // A reply frees a place in the slow start, and may move a late call's bound earlier than the
      // timer assumed (see arrivalBound).
      if (this.#queue.length > 0) this.#pump();
      return;
    }
    this.#throttled++;
    // The server did not count it: the window guard must not either.
    ticket.counted = false;
    if (!this.#enabled) return;
    const named = limitFromDetails(details);
    if (named !== undefined) {
      this.#learned = named;
      if (this.#limit === undefined || named < this.#limit) {
        this.#limit = named;
        // The calls of the burst that taught the limit (some sent before it, on a channel still
        // connecting) may still be throttled for one window: they do not cut the rate.
        this.#graceUntil = now + WINDOW_MS + this.#margin;
      }
    }
    const limit = this.#limit;
    // Unknown and not named (e.g. a concurrency limit): nothing to pace at; the retry backs off.
    if (limit === undefined) {
      if (this.#queue.length > 0) this.#pump();
      return;
    }
    if (ticket.sentAt < this.#lastCutAt || ticket.sentAt < this.#graceUntil) {
      if (this.#rate > PACE * limit) this.#rate = PACE * limit;
      this.#due = Math.max(this.#due, now + 1000 / this.#rate);
      this.#pump();
      return;
    }
    if (this.#rate > PACE * limit) {
      // Faster than the limit (unpaced, or the limit just learned): pace at it, no further cut.
      this.#rate = PACE * limit;
    } else if (
      this.#countedIn(ticket.sentAt - WINDOW_MS - this.#margin, ticket.sentAt) >=
      Math.floor(limit) - 1
    ) {
      // Our own calls fill the window: their trips to the server varied more than the margin.
      this.#margin = Math.min(MAX_MARGIN_MS, this.#margin + MARGIN_STEP_MS);
      this.#widenings++;
    } else {
      this.#rate = Math.max(MIN_RATE, this.#rate * DECREASE);
      this.#decreases++;
    }
    this.#lastCutAt = now;
    this.#due = Math.max(this.#due, now + 1000 / this.#rate);
    this.#pump();
  }

  /** Calls waiting for their turn now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Whether a call of this priority would wait behind another (one as urgent or more is waiting). */
  queuedAhead(priority: number): boolean {
    const first = this.#queue[0];
    return first !== undefined && first.priority <= priority;
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
      waiting: this.#queue.length,
      seconds,
      averageRate: seconds > 0 ? this.#requests / seconds : 0,
      waitedMs: this.#waitedMs,
      idleMs: this.#idleMs,
      limit: this.#limit,
      learnedLimit: this.#learned,
      rate: this.#rate,
      decreases: this.#decreases,
      widenings: this.#widenings,
    };
  }

  /** Additive increase: each clean reply adds INCREASE_SHARE × limit / rate, i.e. that per second. */
  #grow(): void {
    const ceiling = this.#limit === undefined ? Number.POSITIVE_INFINITY : PACE * this.#limit;
    if (!(this.#rate < ceiling)) return;
    const step = INCREASE_SHARE * (this.#limit ?? this.#rate);
    this.#rate = Math.min(ceiling, this.#rate + step / this.#rate);
  }

  #observeRtt(rtt: number): void {
    this.#rtts[this.#rttAt] = rtt;
    this.#rttAt = (this.#rttAt + 1) % RTT_SAMPLES;
    this.#minRtt = Math.min(...this.#rtts);
  }

  /**
   * The latest time a counted call may have reached the server, as far as the window guard needs
   * it: its release, moved later by how much its round trip exceeded the shortest recent one beyond
   * the margin. A round trip that long means the call sat somewhere (a stalled event loop between
   * release and the socket, a queue on the way) and may have arrived that much later; if it did,
   * the server's window holds it that much longer, and a call released one window after its release
   * would be throttled. A call not yet replied past that point holds its place until it is (its
   * bound grows with the clock). Jitter within the margin moves nothing, so pacing at the limit is
   * untouched while trips are steady.
   */
  #arrivalBound(t: Ticket, now: number): number {
    const minRtt = this.#minRtt;
    if (minRtt === undefined) return t.sentAt;
    const late = (t.repliedAt ?? now) - t.sentAt - minRtt - this.#margin;
    const bound = late > 0 ? t.sentAt + late : t.sentAt;
    // Sent before any reply came: it may have waited for the connection, and then arrived with the
    // others once that was up (about a shortest trip before the first reply).
    const first = this.#firstReplyAt as number;
    return t.sentAt < first ? Math.max(bound, first - minRtt) : bound;
  }

  /** Drops tickets no window can need any more (kept two windows, for {@link countedIn}). */
  #prune(now: number): void {
    const horizon = now - 2 * WINDOW_MS - MAX_MARGIN_MS;
    let drop = 0;
    while (drop < this.#window.length && (this.#window[drop] as Ticket).sentAt <= horizon) drop++;
    if (drop > 0) this.#window.splice(0, drop);
  }

  /** Counted tickets sent in (from, to). */
  #countedIn(from: number, to: number): number {
    let n = 0;
    for (const t of this.#window) if (t.counted && t.sentAt > from && t.sentAt < to) n++;
    return n;
  }

  /** The earliest time the next call may go. */
  #nextAt(now: number): number {
    if (!this.#enabled) return now;
    let at = Number.isFinite(this.#rate) ? this.#due : now;
    const limit = this.#limit;
    // Slow start, for a second from the first reply (so a first call held up by connecting does
    // not use it up): a reply (which pumps) or the end of that second frees a place.
    const startEnd =
      this.#firstReplyAt === undefined ? Number.POSITIVE_INFINITY : this.#firstReplyAt + WINDOW_MS;
    if (
      limit === undefined &&
      now < startEnd &&
      this.#requests - this.#served - this.#throttled >= START_IN_FLIGHT
    )
      at = Math.max(at, startEnd);
    if (limit !== undefined && limit >= 1) {
      this.#prune(now);
      const room = Math.floor(limit);
      const span = WINDOW_MS + this.#margin;
      const bounds: number[] = [];
      for (const t of this.#window) {
        if (!t.counted) continue;
        const bound = this.#arrivalBound(t, now);
        if (bound > now - span) bounds.push(bound);
      }
      if (bounds.length >= room) {
        bounds.sort((a, b) => b - a);
        // The call whose leaving the window leaves room for one more.
        at = Math.max(at, (bounds[room - 1] as number) + span);
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
      // A release that came late (a busy event loop, a caller with nothing to send) may be caught up
      // by at most one turn: the next call can follow at once, never more than two in a row; the
      // window guard still holds the count to the limit.
      this.#due = Math.max(this.#due, now - interval) + interval;
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
        // Not before a reply (the slow start before any): the reply pumps.
        if (Number.isFinite(at))
          this.#timer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(at - now)));
        return;
      }
      const waiter = this.#queue.shift() as Waiter;
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      this.#waitedMs += now - waiter.queuedAt;
      waiter.resolve(this.#release(now));
      if (this.#queue.length === 0) this.#emptySince = now;
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
