/**
 * Concurrent, ordered page pipeline. The pinned window is cut into time slices; up to `concurrency`
 * slices are walked at once (each one sequentially, which is what keeps it consistent — see
 * sliceWalk.ts), and their pages are yielded strictly in window order. When a worker runs out of
 * slices it splits the widest slice still being walked at a timestamp beyond what that walk has
 * emitted, so a dense stretch of the log does not serialise the export.
 *
 * Memory is bounded by pages, not by the export: a worker stops fetching while its slice already has
 * a page waiting and the buffer holds `bufferPages` pages, so at most bufferPages + concurrency pages
 * are held, whatever the size of the window.
 */
import {
  type FetchPage,
  type Slice,
  type SliceCursor,
  sliceQueryBounds,
  type WalkedPage,
  walkSlice,
} from "./sliceWalk.js";
import { compareTs, nsToTs, type Ts, tsToNs } from "./timestamps.js";

/** Scheduling knobs. */
export interface OrderedPagesOptions {
  concurrency: number;
  perPage: number;
  /** Pages buffered ahead of the writer before workers pause (default 2 × concurrency). */
  bufferPages?: number;
  /** Split slices when workers go idle (default true). */
  split?: boolean;
  signal?: AbortSignal;
}

/** A page in window order, with the slice it belongs to. */
export interface OrderedPage extends WalkedPage {
  slice: Slice;
}

interface Task {
  slice: Slice;
  cursor: SliceCursor;
  state: "pending" | "running" | "done";
  queue: WalkedPage[];
  fullPages: number;
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
}

/**
 * Yields the pages of `slices` (consecutive, in window order) in order. `firstCursor` resumes the
 * first slice mid-walk. Stopping the iteration early (break, return, error) stops every worker.
 */
export async function* orderedPages(
  slices: Slice[],
  firstCursor: SliceCursor,
  fetchPage: FetchPage,
  options: OrderedPagesOptions,
  stats: PipelineStats = { slices: 0, splits: 0 },
): AsyncGenerator<OrderedPage> {
  const concurrency = Math.max(1, options.concurrency);
  const capacity = Math.max(1, options.bufferPages ?? 2 * concurrency);
  const split = options.split ?? true;
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const tasks: Task[] = slices.map((slice, i) => ({
    slice,
    cursor: i === 0 ? firstCursor : { page: 1, boundaryKeys: [] },
    state: "pending",
    queue: [],
    fullPages: 0,
  }));
  stats.slices = tasks.length;
  const changed = new Notifier();
  let buffered = 0;
  let failure: { error: unknown } | undefined;

  const trySplit = (): Task | undefined => {
    if (!split) return undefined;
    let best: { task: Task; index: number; width: bigint } | undefined;
    tasks.forEach((task, index) => {
      if (task.state !== "running" || task.fullPages < 1) return;
      const start = tsToNs(task.slice.reached ?? task.slice.from);
      const width = tsToNs(task.slice.to) - start;
      if (width >= 2n && (best === undefined || width > best.width)) best = { task, index, width };
    });
    if (best === undefined) return undefined;
    const { task, index, width } = best;
    const start = tsToNs(task.slice.reached ?? task.slice.from);
    const mid = nsToTs(start + width / 2n);
    const tail: Slice = { from: mid, to: task.slice.to, last: task.slice.last };
    // Shrinking `to` is safe: the walk applies it to every page that arrives from now on, and
    // everything it emitted so far is at or before `reached` < mid.
    task.slice.to = mid;
    task.slice.last = false;
    const added: Task = {
      slice: tail,
      cursor: { page: 1, boundaryKeys: [] },
      state: "pending",
      queue: [],
      fullPages: 0,
    };
    tasks.splice(index + 1, 0, added);
    stats.slices++;
    stats.splits++;
    return added;
  };

  const worker = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      const task = tasks.find((t) => t.state === "pending") ?? trySplit();
      if (task === undefined) return;
      task.state = "running";
      for await (const page of walkSlice(
        task.slice,
        task.cursor,
        fetchPage,
        options.perPage,
        controller.signal,
      )) {
        if (!page.done) task.fullPages++;
        task.queue.push(page);
        buffered++;
        changed.notify();
        while (buffered >= capacity && task.queue.length > 0 && !controller.signal.aborted)
          await changed.wait();
        if (controller.signal.aborted) break;
      }
      task.state = "done";
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
    for (let head = 0; ; ) {
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
      if (task.state === "done") {
        head++;
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
