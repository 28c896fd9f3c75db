/**
 * `sync`: keeps a {@link SyncStore} (the Parquet lake, PostgreSQL) a complete copy of a log.
 *
 * A run opens the store, then either resumes the run a crash interrupted (its cursor, pinned window
 * included, is in the store's state) or pins a new window `[max(origin, highWater − reconcile),
 * now − settle]` and walks it with the export engine. The engine's batches and their cursor go to
 * `store.commit` together, so a SIGKILL at any instant resumes where the last commit ended; the
 * trailing `reconcile` part re-reads what an earlier run already stored, and the store skips those
 * entries by key, so late arrivals are added and nothing is added twice. When the window has been
 * walked, its end becomes the new high-water mark.
 *
 * A run is a round of the collector's fan-out (fanout.ts) with one member: `sync` and the collector
 * share one lifecycle (open, prepare, pin, commit, end, close), and its crash points.
 */
import type { Ts } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { runRound } from "./fanout.js";
import type { SyncStore } from "./store.js";
import { SyncInterruptedError, type SyncOptions, type SyncRunSummary } from "./syncRun.js";

export { SyncInterruptedError, type SyncOptions, type SyncRunSummary, syncIdentity } from "./syncRun.js";

/**
 * One sync run (see the module comment). The store is opened and closed here. Rejects with
 * {@link SyncInterruptedError} (an ExportInterruptedError) when `signal` stops it (after committing
 * what was walked), and with the error of the store or the walk that stopped it otherwise (after
 * committing what was walked, and closing the store).
 */
export async function runSync(options: SyncOptions): Promise<SyncRunSummary> {
  const { store, onWindow, ...rest } = options;
  const { result, interrupted } = await runRound({
    ...rest,
    members: [{ id: "store", store: store as SyncStore }],
    // One store: the walk goes at its pace, however slow.
    maxLagEntries: Number.POSITIVE_INFINITY,
    ...(onWindow !== undefined
      ? {
          onWalk: (w: { from: Ts; to: Ts; resumed: boolean }) =>
            onWindow({ from: w.from, to: w.to, resumed: w.resumed }),
        }
      : {}),
  });
  const outcome = result.members.get("store");
  if (outcome === undefined) throw new Error("runSync: the round reported nothing of its store");
  if ("error" in outcome) throw outcome.error;
  if (interrupted !== undefined) throw new SyncInterruptedError(interrupted.summary);
  if (outcome.summary === undefined) throw new Error("runSync: the round reported no summary");
  return outcome.summary;
}
