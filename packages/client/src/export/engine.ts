/**
 * The export engine (public: `clarifai-audit/export`): pins a window, walks it oldest first through
 * the ordered concurrent pipeline (orderedPages.ts, sliceWalk.ts), dedupes at page boundaries, and
 * hands each page to a sink as one batch with the cursor that follows it. Where the data and the
 * cursor go is the sink's business (sink.ts); resuming is `open` returning the last durable cursor.
 *
 * `exportToSink` composes three parts: planning and resuming (plan.ts: the options, the identity,
 * the pinned window or the one a cursor resumes), the walk (walk.ts: a source of batches), and the
 * sink's lifecycle (sinkSession.ts: open, start, write, flush at the commit interval, close).
 */
import { formatTs } from "../domain/timestamps.js";
import { ExportInterruptedError } from "./errors.js";
import { WalkEstimate } from "./estimate.js";
import type { PipelineStats } from "./orderedPages.js";
import {
  cursorAt,
  type ExportToSinkOptions,
  pinWindow,
  planFromCursor,
  type WalkPlan,
  walkSettings,
  walkStats,
} from "./plan.js";
import { SinkSession } from "./sinkSession.js";
import type { Slice } from "./sliceWalk.js";
import type { ExportProgress, ExportSummary } from "./summary.js";
import { walkPlan } from "./walk.js";

export type { ExportProgress, ExportSummary, ExportToSinkOptions };

/**
 * Runs (or resumes, from the cursor `sink.open` returns) a snapshot-consistent walk of the query's
 * window, handing the sink one batch per page in window order. Every entry the server holds in the
 * pinned window reaches the sink exactly once across interruptions, provided the sink makes each
 * batch and its cursor durable together.
 *
 * @throws ExportUsageError for options refused before any request (or a cursor the engine cannot use);
 * ExportInterruptedError when stopped by `signal` (after flushing and closing the sink); otherwise
 * the error that stopped the walk (after flushing what was written, and closing the sink).
 */
export async function exportToSink(options: ExportToSinkOptions): Promise<ExportSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const { signal } = options;
  const settings = walkSettings(options);
  const session = new SinkSession(options.sink, settings.commitIntervalMs, now);
  const resumeFrom = await session.open(settings.identity);
  const stats = walkStats(resumeFrom);
  const pipelineStats: PipelineStats = { slices: 0, splits: 0 };
  let plan: WalkPlan | undefined;
  const summary = (): ExportSummary => ({
    entries: stats.entries,
    pages: stats.pages,
    retries: stats.retries,
    shiftedPages: stats.shiftedPages,
    requests: stats.requests,
    repeated: stats.repeated,
    stale: stats.stale,
    slices: pipelineStats.slices,
    splits: pipelineStats.splits,
    lowestConcurrency: pipelineStats.lowestConcurrency ?? settings.concurrency,
    durationMs: performance.now() - started,
    resumed: resumeFrom !== undefined,
    ...(plan ? { window: { from: formatTs(plan.window.from), to: formatTs(plan.window.to) } } : {}),
  });

  try {
    plan =
      resumeFrom !== undefined ? planFromCursor(resumeFrom) : await pinWindow(settings, stats, now, signal);
    options.onWindow?.({ ...plan.window, resumed: plan.resumed });
    if (!plan.resumed)
      await session.start(cursorAt(plan, plan.slices[0] as Slice, plan.firstCursor, false, false, stats));
  } catch (error) {
    await session.fail(error, false);
    throw error;
  }

  session.walking();
  const estimate = WalkEstimate.of(plan.ends?.first, plan.ends?.last);
  try {
    for await (const batch of walkPlan(plan, settings, stats, pipelineStats, signal)) {
      await session.write({ entries: batch.entries, cursor: batch.cursor, raw: batch.entries });
      const estimated = estimate?.after(batch.entries.at(-1)?.timestamp, stats.entries, batch.cursor);
      options.onProgress?.({
        entries: stats.entries,
        pages: stats.pages,
        retries: stats.retries,
        shiftedPages: stats.shiftedPages,
        requests: stats.requests,
        ...(estimated !== undefined ? { estimate: estimated } : {}),
      });
      await session.commitIfDue();
    }
  } catch (error) {
    if (!signal?.aborted) {
      await session.fail(error, true);
      throw error;
    }
  }
  if (signal?.aborted) {
    await session.end(false);
    throw new ExportInterruptedError(summary());
  }
  await session.end(true);
  return summary();
}
