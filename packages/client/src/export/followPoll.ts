/**
 * The follow-poll source: the open end of the live log, read again and again, as `tail --follow`,
 * `watch` and `sync --follow` do.
 *
 * {@link followRounds} is the schedule they share: one round, then (when following) a pause on the
 * {@link Clock} and another, until the signal aborts. {@link followPoll} is the source `tail` and
 * `watch` read: each round reads from (newest timestamp handed over − lookback), inclusive, to now,
 * oldest first, and hands on only the entries the boundary dedupe (dedupe.ts) has not handed over,
 * one batch a page. Equal timestamps and entries that land late — up to the lookback behind the
 * newest one — thus come out exactly once.
 *
 * Acknowledgement: a batch carries the poll state that follows it (its cursor); the state the
 * caller owns advances to it only when the caller calls `ack()`, after its sink has committed the
 * batch (printed it, stored it with its checkpoint). Acks are cumulative, like a consumer offset: a
 * page's state includes every page before it in the round. A round whose batches were not acked is
 * read again from the last acked state in the next round, so a batch is never lost to a sink that
 * failed to commit it.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import type { AuditLogClient } from "../client/client.js";
import type { AuditLogSearchQuery } from "../client/query.js";
import { entryKey } from "../codec/entryKey.js";
import { entryToJsonLine } from "../codec/index.js";
import { type Clock, systemClock } from "../domain/clock.js";
import { nowTs, type Ts } from "../domain/timestamps.js";
import { type DedupeState, dedupeEntries, pollWindow } from "./dedupe.js";

/** Where a follow-poll stands (what a checkpoint saves). */
export interface PollState {
  /** Nothing older is ever read (--from/--since, or the first run's now). */
  start: Ts;
  /** Newest timestamp handed on, or where the first poll started. */
  position: Ts;
  /** Keys of the entries handed on with timestamp ≥ position − lookback, with their timestamps. */
  seen: Map<string, bigint>;
}

/** Options of {@link followRounds}. */
export interface FollowRoundsOptions {
  /** False: one round only. */
  follow: boolean;
  /** The pause between the end of one round and the start of the next. */
  intervalMs: number;
  clock?: Clock;
  /** Ends the rounds: no round starts once it aborts, and the pause ends at once. */
  signal?: AbortSignal;
}

/** One round of {@link followRounds}. */
export interface FollowRound {
  /** 1 for the first round. */
  readonly number: number;
  /** Asks for the next round at once, without the pause, even when not following. */
  again(): void;
}

/**
 * The rounds of a follow loop: yields a round, and once the consumer is done with it pauses
 * `intervalMs` on the clock before the next, until `signal` aborts (or after one round when not
 * following, unless the round asked for another).
 */
export async function* followRounds(options: FollowRoundsOptions): AsyncGenerator<FollowRound> {
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  for (let number = 1; !signal?.aborted; number++) {
    let again = false;
    yield {
      number,
      again: () => {
        again = true;
      },
    };
    if (signal?.aborted) return;
    if (again) continue;
    if (!options.follow) return;
    await clock.sleep(options.intervalMs, signal);
  }
}

/** An entry a poll handed on, with its JSON line and dedupe key computed once, when first asked. */
export class PolledEntry {
  #line: string | undefined;
  constructor(readonly entry: AuditLogEntry) {}
  /** The entry's timestamp (what dedupe reads). */
  get timestamp(): Ts | undefined {
    return this.entry.timestamp;
  }
  /** The entry's canonical REST JSON line (packages/client/src/codec/entryPrinter.ts). */
  get line(): string {
    this.#line ??= entryToJsonLine(this.entry);
    return this.#line;
  }
  /** The dedupe key (packages/client/src/domain/entryKey.ts). */
  key(): string {
    return entryKey(this.entry, this.line);
  }
}

/** What {@link followPoll} yields: a page's fresh entries, or the end of a round. */
export type PollEvent = PollBatch | { readonly kind: "caught-up" };

/** A page of a round: its fresh entries (possibly none) and the poll state after them. */
export interface PollBatch {
  readonly kind: "page";
  readonly entries: readonly PolledEntry[];
  /** Entries handed on earlier whose keys this page let go (they fell behind the lookback). */
  readonly forgotten: number;
  /** The poll state after this page: store it with the batch; {@link ack} makes it the caller's. */
  readonly cursor: PollState;
  /** The batch is committed: the caller's state advances to {@link cursor}. */
  ack(): void;
}

/** Options of {@link followPoll}. */
export interface FollowPollOptions extends FollowRoundsOptions {
  /** The client read (only `search` is used). */
  client: Pick<AuditLogClient, "search">;
  /** Filters; the window is the poll's own. */
  filters?: AuditLogSearchQuery;
  /** The caller's (acknowledged) state: advanced in place by each `ack()`. */
  state: PollState;
  /** How far behind the newest entry handed on each round reads again. */
  lookbackNs: bigint;
  /** Entries per page (the round reads pages until one is short). */
  perPage: number;
}

function copyState(state: PollState, position: Ts | undefined, seen: Map<string, bigint>): PollState {
  return { start: state.start, position: position ?? state.position, seen: new Map(seen) };
}

/**
 * Polls the open end of the log (see the module comment): yields each page's fresh entries with
 * their cursor, and `caught-up` at the end of each round. Ends after one round unless `follow`, and
 * ends without an error once `signal` aborts (a request it stopped included); any other error of a
 * request rejects the iteration.
 */
export async function* followPoll(options: FollowPollOptions): AsyncGenerator<PollEvent> {
  const { client, state, lookbackNs, perPage, signal } = options;
  const clock = options.clock ?? systemClock;
  try {
    for await (const _round of followRounds(options)) {
      // Each round starts from what was acknowledged: unacknowledged pages are read again.
      const work: DedupeState = { position: state.position, keys: new Map(state.seen) };
      const window = pollWindow(state.position, state.start, lookbackNs, nowTs(clock.now()));
      if (window !== undefined) {
        const { from, to } = window;
        for (let page = 1; ; page++) {
          const result = await client.search(
            { ...options.filters, from, to, page, perPage, sortAscending: true },
            signal ? { signal } : {},
          );
          const polled = result.entries.map((e) => new PolledEntry(e));
          const { fresh, forgotten } = dedupeEntries(polled, work, lookbackNs, (e) => e.key());
          const cursor = copyState(state, work.position, work.keys);
          yield {
            kind: "page",
            entries: fresh,
            forgotten,
            cursor,
            ack: () => {
              state.position = cursor.position;
              // The cursor's keys are a copy no one changes: the next round copies them again.
              state.seen = cursor.seen;
            },
          };
          if (result.entries.length < perPage) break;
        }
      }
      yield { kind: "caught-up" };
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}
