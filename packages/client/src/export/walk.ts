/**
 * The walk (the second part of `exportToSink`, engine.ts): a source yielding the plan's pages in
 * window order — fetched by the ordered concurrent pipeline (orderedPages.ts, sliceWalk.ts), deduped
 * at page boundaries — each as a batch with the cursor that follows it. The running totals (`stats`)
 * are updated as pages arrive, so a cursor carries them.
 */
import type { RawEntry } from "../codec/replyBytes.js";
import { type EngineEntry, exportEntryFromRaw } from "./exportEntry.js";
import { orderedPages, type PipelineStats } from "./orderedPages.js";
import { cursorAt, type WalkPlan, type WalkSettings, type WalkStats } from "./plan.js";
import type { ExportCursor } from "./sink.js";
import type { FetchPage } from "./sliceWalk.js";

/** One page of the walk: its fresh entries (also their byte ranges) and the cursor after them. */
export interface WalkBatch {
  entries: EngineEntry[];
  cursor: ExportCursor;
}

/**
 * Walks `plan`, yielding a batch a page; ends at the window's end, or early (without an error)
 * once `signal` aborts after a page.
 */
export async function* walkPlan(
  plan: WalkPlan,
  settings: WalkSettings,
  stats: WalkStats,
  pipelineStats: PipelineStats,
  signal: AbortSignal | undefined,
): AsyncGenerator<WalkBatch> {
  const { fetchPage, client, concurrency, perPage } = settings;
  const counted: FetchPage<RawEntry> = async (req) => {
    const page = await fetchPage(req);
    stats.requests += page.attempts;
    return page;
  };
  const stream = orderedPages<EngineEntry>(
    plan.slices,
    plan.firstCursor,
    async (req) => {
      const page = await counted(req);
      return { entries: page.entries.map(exportEntryFromRaw), attempts: page.attempts };
    },
    {
      concurrency,
      perPage,
      signal,
      keyOf: (e) => e.key(),
      // Pages waiting for the client's budget ahead of a piece: a split would only add a partial page.
      ...(client !== undefined ? { saturated: (priority: number) => client.queuedAhead(priority) } : {}),
    },
    pipelineStats,
  );
  for await (const page of stream) {
    stats.entries += page.entries.length;
    stats.pages++;
    stats.retries += page.retries;
    stats.repeated += page.repeated;
    stats.stale += page.stale;
    if (page.repeated + page.stale > 0) stats.shiftedPages++;
    const cursor = cursorAt(plan, page.slice, page.cursor, page.done, page.done && page.slice.last, stats);
    yield { entries: page.entries, cursor };
    if (signal?.aborted) return;
  }
}
