/**
 * Concurrent, ordered page pipeline. The pinned window is cut into time slices; each slice is walked
 * strictly one page after the other (which is what keeps it consistent — see sliceWalk.ts), up to
 * `concurrency` slices at a time, and pages are yielded strictly in window order.
 *
 * Workers always take the earliest slice that has no page in flight. When there is none, a worker
 * splits the earliest slice being fetched, about one page's span past what that walk has emitted
 * (learned from the pages seen), and walks the remainder: the window is handed out in page-sized
 * pieces next to the writer, so the pages in flight are the next ones to be written and a dense log
 * is fetched in parallel, not slice after slice. Two splits are not made: while pages wait for
 * the client's request budget (`saturated`), since a page more in flight would not be served any
 * sooner and each split costs a partial page; and where the rest of the walk is not clearly wider
 * than a page (the page in flight probably ends it: a cut would leave a partial page and a sliver).
 * While the budget is saturated no split adds a page, so each slice's pages are full but its last
 * (requests ≤ ⌈entries / per_page⌉ + slices). Each page request carries its place in the window (`priority`), which the budget serves
 * first, so its turns go to the pages the writer needs next rather than to slices far ahead.
 *
 * Memory is bounded by pages, not by the export: once `bufferPages` pages wait for the writer, only
 * the slice the writer is on may fetch (and only when none of its pages waits), so at most
 * bufferPages + concurrency pages are held, whatever the size of the window.
 *
 * `concurrency` is a ceiling, not a quota (concurrency.ts); the span of a page is learned as the
 * walk goes (pageSpan.ts); each slice is walked by a SliceWalk (sliceWalk.ts).
 */
import { setMaxListeners } from "node:events";
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { nsToTs, tsToNs } from "../domain/timestamps.js";
import { AdaptiveConcurrency } from "./concurrency.js";
import { PageSpanEstimator } from "./pageSpan.js";
import {
  type EntryKeyOf,
  type FetchPage,
  type Slice,
  type SliceCursor,
  SliceWalk,
  sliceQueryBounds,
  type WalkEntry,
  type WalkedPage,
} from "./sliceWalk.js";
import { planSlices } from "./window.js";

/** Scheduling knobs. */
export interface OrderedPagesOptions<E extends WalkEntry = AuditLogEntry> {
  concurrency: number;
  perPage: number;
  /** Pages buffered ahead of the writer before workers pause (default 2 × concurrency). */
  bufferPages?: number;
  /** Split slices when workers go idle (default true). */
  split?: boolean;
  /**
   * Whether a page at this place in the window (see {@link PageRequest.priority}) would wait for
   * its turn behind others in the client's request budget. Idle workers then do not split: a page
   * more in flight would not be served any sooner, and each split costs a partial page.
   */
  saturated?: (priority: number) => boolean;
  signal?: AbortSignal;
  /** Dedupe key of an entry (default: entryKey of a decoded entry). */
  keyOf?: EntryKeyOf<E>;
}

/** A page in window order, with the slice it belongs to (as it stood when the page was handed over). */
export interface OrderedPage<E extends WalkEntry = AuditLogEntry> extends WalkedPage<E> {
  slice: Slice;
}

/** Scheduling statistics, readable while and after the pipeline runs. */
export interface PipelineStats {
  slices: number;
  splits: number;
  /** Times the pages allowed in flight were halved after a page needed retries. */
  backoffs?: number;
  /** Fewest pages allowed in flight at any time (the concurrency when never lowered). */
  lowestConcurrency?: number;
}

/** One slice's walk and the pages it fetched that wait for the writer. */
class Task<E extends WalkEntry> {
  /** A worker is fetching this task's next page (a walk is strictly sequential). */
  busy = false;
  done = false;
  readonly queue: WalkedPage<E>[] = [];
  /** Entries its walk has emitted (for the density learned when it ends). */
  emitted = 0;
  constructor(readonly walk: SliceWalk<E>) {}
}

class Notifier {
  private waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/**
 * The scheduler: tasks in window order, the workers that fetch their pages, and the writer's
 * position (`head`). Use {@link orderedPages}; the class is the unit the tests drive.
 */
export class PageScheduler<E extends WalkEntry = AuditLogEntry> {
  readonly #tasks: Task<E>[];
  readonly #fetchPage: FetchPage<E>;
  readonly #options: OrderedPagesOptions<E>;
  readonly #capacity: number;
  readonly #concurrency: AdaptiveConcurrency;
  readonly #span: PageSpanEstimator;
  readonly #changed = new Notifier();
  readonly #controller = new AbortController();
  #buffered = 0;
  #head = 0;
  #failure: { error: unknown } | undefined;

  constructor(
    slices: readonly Slice[],
    firstCursor: SliceCursor,
    fetchPage: FetchPage<E>,
    options: OrderedPagesOptions<E>,
    readonly stats: PipelineStats = { slices: 0, splits: 0 },
  ) {
    const concurrency = Math.max(1, options.concurrency);
    this.#fetchPage = fetchPage;
    this.#options = options;
    this.#capacity = Math.max(1, options.bufferPages ?? 2 * concurrency);
    this.#concurrency = new AdaptiveConcurrency(concurrency);
    this.#span = new PageSpanEstimator(options.perPage);
    // Each page in flight listens on this signal (its call, and its retry's backoff), so past ten in
    // flight Node would warn of a listener leak that is not one.
    setMaxListeners(Math.max(10, 2 * concurrency + 2), this.#controller.signal);
    this.#tasks = slices.map((slice, i) =>
      this.#task(slice, i === 0 ? firstCursor : { page: 1, boundaryKeys: [] }),
    );
    stats.slices = this.#tasks.length;
    stats.backoffs = 0;
    stats.lowestConcurrency = concurrency;
  }

  #task(slice: Slice, cursor: SliceCursor): Task<E> {
    return new Task(
      new SliceWalk(slice, cursor, this.#fetchPage, this.#options.perPage, this.#options.keyOf),
    );
  }

  /**
   * Peels the work after the in-flight page off `task` (being fetched): it keeps about one page's
   * span past what it has emitted, a new task right after it takes the rest. Undefined when the
   * task is too narrow to split.
   */
  #splitAfter(task: Task<E>, index: number): Task<E> | undefined {
    const { step, span } = this.#span;
    if (this.#options.split === false || step === undefined || span === undefined) return undefined;
    const { slice } = task.walk;
    const start = tsToNs(task.walk.reached ?? slice.from);
    const width = tsToNs(slice.to) - start;
    // The page in flight covers about a span from `start`: where the rest is not clearly wider, it
    // probably ends the walk, and a cut would turn one page into a partial one and a sliver.
    if (width < 2n || width * 8n <= span * 9n) return undefined;
    const cut = start + step;
    // With room, any page waiting for the budget makes a split useless. Past the buffer the pages
    // waiting are far ahead (sent before it filled): the piece, next to the writer, goes first.
    const room = this.#buffered < this.#capacity;
    if (this.#options.saturated?.(room ? Number.POSITIVE_INFINITY : Number(cut)) === true) return undefined;
    const added = this.#task(task.walk.narrow(nsToTs(cut)), { page: 1, boundaryKeys: [] });
    this.#tasks.splice(index + 1, 0, added);
    this.stats.slices++;
    this.stats.splits++;
    return added;
  }

  /**
   * The work nearest to the writer: the earliest task with no page in flight, or a piece split off
   * an earlier task that is being fetched — so workers gather next to the writer instead of running
   * ahead on later slices. Past `bufferPages` waiting pages only the writer's task may fetch.
   */
  #pick(): Task<E> | undefined {
    const room = this.#buffered < this.#capacity;
    for (let index = this.#head; index < this.#tasks.length; index++) {
      const task = this.#tasks[index] as Task<E>;
      if (task.done) continue;
      if (task.busy) {
        // Past `bufferPages`, only the writer's own walk may be cut, while the writer waits for it:
        // the piece holds the pages it needs next, not pages far ahead.
        const piece =
          room || (index === this.#head && task.queue.length === 0)
            ? this.#splitAfter(task, index)
            : undefined;
        if (piece !== undefined) return piece;
        continue;
      }
      if (room || (index === this.#head && task.queue.length === 0)) return task;
      return undefined;
    }
    return undefined;
  }

  #finished(task: Task<E>): void {
    task.done = true;
    const { slice } = task.walk;
    this.#span.observeSlice(tsToNs(slice.to) - tsToNs(slice.from), task.emitted);
  }

  async #worker(): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      const task = this.#concurrency.canSend ? this.#pick() : undefined;
      if (task === undefined) {
        if (this.#head >= this.#tasks.length) return;
        await this.#changed.wait();
        continue;
      }
      task.busy = true;
      const ticket = this.#concurrency.send();
      let page: WalkedPage<E>;
      try {
        page = await task.walk.next(signal);
      } catch (error) {
        this.#concurrency.settle(ticket, undefined);
        throw error;
      }
      this.#concurrency.settle(ticket, page.retries > 0);
      this.stats.backoffs = this.#concurrency.backoffs;
      this.stats.lowestConcurrency = this.#concurrency.lowest;
      task.busy = false;
      this.#span.observePage(page.entries, page.done);
      task.emitted += page.entries.length;
      task.queue.push(page);
      this.#buffered++;
      if (page.done) this.#finished(task);
      this.#changed.notify();
    }
  }

  /** Yields the pages in window order; stopping early (break, return, error) stops every worker. */
  async *pages(): AsyncGenerator<OrderedPage<E>> {
    const { signal } = this.#options;
    const controller = this.#controller;
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const workers = Array.from({ length: this.#concurrency.ceiling }, () =>
      this.#worker().catch((error: unknown) => {
        if (this.#failure === undefined && !controller.signal.aborted) this.#failure = { error };
        controller.abort();
        this.#changed.notify();
      }),
    );
    try {
      for (;;) {
        if (this.#failure !== undefined) throw this.#failure.error;
        signal?.throwIfAborted();
        const task = this.#tasks[this.#head];
        if (task === undefined) break;
        const page = task.queue.shift();
        if (page !== undefined) {
          this.#buffered--;
          this.#changed.notify();
          yield { ...page, slice: task.walk.slice };
          continue;
        }
        if (task.done) {
          this.#head++;
          this.#changed.notify();
          continue;
        }
        if (controller.signal.aborted && this.#failure === undefined) signal?.throwIfAborted();
        await this.#changed.wait();
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      controller.abort();
      this.#changed.notify();
      await Promise.allSettled(workers);
    }
  }
}

/**
 * Yields the pages of `slices` (consecutive, in window order) in order. `firstCursor` resumes the
 * first slice mid-walk. Stopping the iteration early (break, return, error) stops every worker.
 */
export function orderedPages<E extends WalkEntry = AuditLogEntry>(
  slices: Slice[],
  firstCursor: SliceCursor,
  fetchPage: FetchPage<E>,
  options: OrderedPagesOptions<E>,
  stats: PipelineStats = { slices: 0, splits: 0 },
): AsyncGenerator<OrderedPage<E>> {
  return new PageScheduler(slices, firstCursor, fetchPage, options, stats).pages();
}

export { planSlices, sliceQueryBounds };
