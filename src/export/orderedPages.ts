/**
 * Concurrent, ordered page pipeline. The pinned window is cut into time slices; each slice is walked
 * strictly one page after the other (which is what keeps it consistent — see sliceWalk.ts), up to
 * `concurrency` slices at a time, and pages are yielded strictly in window order.
 *
 * Workers always take the earliest slice that has no page in flight. When there is none, a worker
 * splits the earliest slice being fetched, about one page's span past what that walk has emitted
 * (learned from the pages seen), and walks the remainder: the window is handed out in page-sized
 * pieces next to the writer, so the pages in flight are the next ones to be written and a dense log
 * is fetched in parallel, not slice after slice.
 *
 * Memory is bounded by pages, not by the export: once `bufferPages` pages wait for the writer, only
 * the slice the writer is on may fetch (and only when none of its pages waits), so at most
 * bufferPages + concurrency pages are held, whatever the size of the window.
 *
 * `concurrency` is a ceiling, not a quota: a page that needed retries (the server throttled or
 * failed it) halves the pages allowed in flight, and each run of as many clean pages as are allowed
 * adds one back (additive increase, multiplicative decrease, as TCP and the AWS SDKs' adaptive
 * retry mode do). An account's rate limit then costs a few throttled calls, not one per page.
 */
import { setMaxListeners } from "node:events";
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { compareTs, nsToTs, type Ts, tsToNs } from "../domain/timestamps.js";
import {
  type EntryKeyOf,
  type FetchPage,
  type Slice,
  type SliceCursor,
  sliceQueryBounds,
  type WalkEntry,
  type WalkedPage,
  walkSlice,
} from "./sliceWalk.js";

/** Scheduling knobs. */
export interface OrderedPagesOptions<E extends WalkEntry = AuditLogEntry> {
  concurrency: number;
  perPage: number;
  /** Pages buffered ahead of the writer before workers pause (default 2 × concurrency). */
  bufferPages?: number;
  /** Split slices when workers go idle (default true). */
  split?: boolean;
  signal?: AbortSignal;
  /** Dedupe key of an entry (default: entryKey of a decoded entry). */
  keyOf?: EntryKeyOf<E>;
}

/** A page in window order, with the slice it belongs to. */
export interface OrderedPage<E extends WalkEntry = AuditLogEntry> extends WalkedPage<E> {
  slice: Slice;
}

interface Task<E extends WalkEntry> {
  slice: Slice;
  walk: AsyncGenerator<WalkedPage<E>>;
  /** A worker is fetching this task's next page (a walk is strictly sequential). */
  busy: boolean;
  done: boolean;
  queue: WalkedPage<E>[];
  /** Entries its walk has emitted (for the density learned when it ends). */
  emitted: number;
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

/** Scheduling statistics, readable while and after the pipeline runs. */
export interface PipelineStats {
  slices: number;
  splits: number;
  /** Times the pages allowed in flight were halved after a page needed retries. */
  backoffs?: number;
  /** Fewest pages allowed in flight at any time (the concurrency when never lowered). */
  lowestConcurrency?: number;
}

/**
 * Yields the pages of `slices` (consecutive, in window order) in order. `firstCursor` resumes the
 * first slice mid-walk. Stopping the iteration early (break, return, error) stops every worker.
 */
export async function* orderedPages<E extends WalkEntry = AuditLogEntry>(
  slices: Slice[],
  firstCursor: SliceCursor,
  fetchPage: FetchPage<E>,
  options: OrderedPagesOptions<E>,
  stats: PipelineStats = { slices: 0, splits: 0 },
): AsyncGenerator<OrderedPage<E>> {
  const concurrency = Math.max(1, options.concurrency);
  const capacity = Math.max(1, options.bufferPages ?? 2 * concurrency);
  const split = options.split ?? true;
  const controller = new AbortController();
  // Each page in flight listens on this signal (its call, and its retry's backoff), so past ten in
  // flight Node would warn of a listener leak that is not one.
  setMaxListeners(Math.max(10, 2 * concurrency + 2), controller.signal);
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const newTask = (slice: Slice, cursor: SliceCursor): Task<E> => {
    // A walk resumed mid-slice has already emitted up to its cursor's boundary; splits must cut after it.
    if (cursor.boundary !== undefined) slice.reached = cursor.boundary;
    return {
      slice,
      walk: walkSlice(slice, cursor, fetchPage, options.perPage, controller.signal, options.keyOf),
      busy: false,
      done: false,
      queue: [],
      emitted: 0,
    };
  };
  const tasks: Task<E>[] = slices.map((slice, i) =>
    newTask(slice, i === 0 ? firstCursor : { page: 1, boundaryKeys: [] }),
  );
  stats.slices = tasks.length;
  const changed = new Notifier();
  let buffered = 0;
  let head = 0;
  let failure: { error: unknown } | undefined;
  /** Nanoseconds one full page is expected to span (see learnSpan). */
  let pageSpan: bigint | undefined;
  /** Pages allowed in flight now, and how many are (see adapt). */
  let limit = concurrency;
  let inFlight = 0;
  let cleanRun = 0;
  /** Decreases so far; pages sent before the last one were sent at an older limit. */
  let epoch = 0;
  let lowest = concurrency;
  stats.backoffs = 0;
  stats.lowestConcurrency = lowest;

  /**
   * A page that needed retries halves the limit, unless it was sent before the last decrease (its
   * trouble was already answered); `limit` clean pages in a row add one back, up to `concurrency`.
   */
  const adapt = (retried: boolean, sentAt: number): void => {
    if (retried) {
      cleanRun = 0;
      if (sentAt === epoch && limit > 1) {
        limit = Math.floor(limit / 2);
        epoch++;
        lowest = Math.min(lowest, limit);
        stats.backoffs = epoch;
        stats.lowestConcurrency = lowest;
      }
    } else if (limit < concurrency && ++cleanRun >= limit) {
      limit++;
      cleanRun = 0;
    }
  };

  /**
   * Peels the work after the in-flight page off `task` (being fetched): it keeps about one page's
   * span past what it has emitted, a new task right after it takes the rest. Undefined when the
   * task is too narrow to split.
   */
  const splitAfter = (task: Task<E>, index: number): Task<E> | undefined => {
    if (!split) return undefined;
    const start = tsToNs(task.slice.reached ?? task.slice.from);
    const width = tsToNs(task.slice.to) - start;
    if (width < 2n || pageSpan === undefined) return undefined;
    // 7/8 of a page: the page in flight then usually reaches past the cut and ends the task.
    let step = (pageSpan * 7n) / 8n;
    if (step < 1n) step = 1n;
    if (step >= width) return undefined;
    const cut = nsToTs(start + step);
    const tail: Slice = { from: cut, to: task.slice.to, last: task.slice.last };
    // Shrinking `to` is safe: the walk applies it to every page that arrives from now on, and
    // everything it emitted so far is at or before `reached` < cut.
    task.slice.to = cut;
    task.slice.last = false;
    const added = newTask(tail, { page: 1, boundaryKeys: [] });
    tasks.splice(index + 1, 0, added);
    stats.slices++;
    stats.splits++;
    return added;
  };

  /**
   * The work nearest to the writer: the earliest task with no page in flight, or a piece split off
   * an earlier task that is being fetched — so workers gather next to the writer instead of running
   * ahead on later slices. Past `bufferPages` waiting pages only the writer's task may fetch.
   */
  const pick = (): Task<E> | undefined => {
    const room = buffered < capacity;
    for (let index = head; index < tasks.length; index++) {
      const task = tasks[index] as Task<E>;
      if (task.done) continue;
      if (task.busy) {
        // Until a page has told how dense the log is, cutting blind would halve the first slice
        // into empty pieces: take the planned slices first.
        const piece = room && pageSpan !== undefined ? splitAfter(task, index) : undefined;
        if (piece !== undefined) return piece;
        continue;
      }
      if (room || (index === head && task.queue.length === 0)) return task;
      return undefined;
    }
    return undefined;
  };

  /** A full page sets the span to what it covered. */
  const learnSpan = (page: WalkedPage<E>): void => {
    const first = page.entries[0]?.timestamp;
    const last = page.entries[page.entries.length - 1]?.timestamp;
    if (
      !page.done &&
      first !== undefined &&
      last !== undefined &&
      page.entries.length >= options.perPage / 2
    ) {
      const span = tsToNs(last) - tsToNs(first);
      pageSpan = span > 0n ? span : 1n;
    }
  };

  /**
   * A finished task tells how many entries its width held: a page there spans about width × perPage
   * / entries. Where that is wider than the span learned so far (a sparse stretch, the tail after
   * the newest entry, a small export), splitting stops paying: pieces would come back nearly empty,
   * one request each. A nearly empty piece at least doubles the span, so a stretch cut too fine
   * (a span learned from ties can be 1 ns) is covered in a few growing pieces, not billions. Full
   * pages in a dense stretch set the span back (learnSpan).
   */
  const learnDensity = (task: Task<E>): void => {
    const width = tsToNs(task.slice.to) - tsToNs(task.slice.from);
    if (width <= 0n) return;
    let span = (width * BigInt(options.perPage)) / BigInt(Math.max(1, task.emitted));
    if (pageSpan !== undefined && task.emitted < options.perPage / 4 && span < pageSpan * 2n)
      span = pageSpan * 2n;
    if (pageSpan === undefined || span > pageSpan) pageSpan = span;
  };

  const worker = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      const task = inFlight < limit ? pick() : undefined;
      if (task === undefined) {
        if (head >= tasks.length) return;
        await changed.wait();
        continue;
      }
      task.busy = true;
      inFlight++;
      const sentAt = epoch;
      let step: IteratorResult<WalkedPage<E>>;
      try {
        step = await task.walk.next();
      } finally {
        inFlight--;
      }
      task.busy = false;
      if (!step.done) adapt(step.value.retries > 0, sentAt);
      if (step.done) {
        task.done = true;
        learnDensity(task);
      } else {
        learnSpan(step.value);
        task.emitted += step.value.entries.length;
        task.queue.push(step.value);
        buffered++;
        if (step.value.done) {
          task.done = true;
          learnDensity(task);
          await task.walk.return(undefined);
        }
      }
      changed.notify();
    }
  };

  const workers = Array.from({ length: concurrency }, () =>
    worker().catch((error: unknown) => {
      if (failure === undefined && !controller.signal.aborted) failure = { error };
      controller.abort();
      changed.notify();
    }),
  );

  try {
    for (;;) {
      if (failure !== undefined) throw failure.error;
      options.signal?.throwIfAborted();
      const task = tasks[head];
      if (task === undefined) break;
      const page = task.queue.shift();
      if (page !== undefined) {
        buffered--;
        changed.notify();
        yield { ...page, slice: task.slice };
        continue;
      }
      if (task.done) {
        head++;
        changed.notify();
        continue;
      }
      if (controller.signal.aborted && failure === undefined) options.signal?.throwIfAborted();
      await changed.wait();
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    controller.abort();
    changed.notify();
    await Promise.allSettled(workers);
  }
}

/**
 * Cuts `[from, to]` into `count` slices of equal width (the last one inclusive of `to`). Fewer
 * slices when the window is narrower than `count` nanoseconds.
 */
export function planSlices(from: Ts, to: Ts, count: number): Slice[] {
  const a = tsToNs(from);
  const b = tsToNs(to);
  if (compareTs(from, to) >= 0) return [{ from, to, last: true }];
  const n = BigInt(Math.max(1, Math.min(count, Number(b - a))));
  const slices: Slice[] = [];
  for (let i = 0n; i < n; i++) {
    slices.push({
      from: nsToTs(a + ((b - a) * i) / n),
      to: nsToTs(a + ((b - a) * (i + 1n)) / n),
      last: i === n - 1n,
    });
  }
  return slices;
}

export { sliceQueryBounds };
