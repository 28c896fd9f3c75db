/**
 * `clarifai-audit tail`: prints new audit-log entries oldest first as they arrive.
 *
 * Each poll re-reads from (newest printed timestamp − lookback), inclusive, to now, and skips the
 * entries whose key it has already printed; the keys of that overlap are all it remembers (and what
 * the checkpoint stores). Equal timestamps and entries that land late — up to the lookback behind the
 * newest printed one — are thus printed exactly once, and pages that shift while a poll reads them
 * cannot hide entries (the walk is sequential; see packages/client/src/export/sliceWalk.ts).
 */

import { type AuditLogSearchQuery, formatTimestamp } from "@clarifai-audit/client";
import { nowTs, nsToTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { followPoll } from "@clarifai-audit/client/internal/export/followPoll.js";
import { resumeIdentity } from "@clarifai-audit/client/internal/export/identity.js";
import { formatDurationMs } from "./duration.js";
import { UsageError } from "./exitCodes.js";
import { chooseFormat, EntrySink } from "./output.js";
import { type ConnectionFlags, type FilterFlags, filtersToQuery, resolveWindow } from "./queryOptions.js";
import { requestFigures, requestSummary } from "./requestStats.js";
import type { CommandContext, CommandResult } from "./runner.js";
import { readCheckpoint, type TailState, writeCheckpoint } from "./tailCheckpoint.js";
import { countEntries, lateLine } from "./tailLate.js";

/** The flags of `tail`, as commander parses them. */
export interface TailFlags extends FilterFlags, ConnectionFlags {
  follow?: boolean;
  interval: number;
  lookback: number;
  checkpoint?: string;
  perPage: number;
  format?: string;
  quiet?: boolean;
  json?: boolean;
}

/** What a checkpoint belongs to: the log (user id, endpoint), the filters and the lookback. */
function canonicalQuery(
  query: AuditLogSearchQuery,
  lookbackMs: number,
  log: { userId: string; endpoint: string },
): string {
  return JSON.stringify(resumeIdentity(log, { ...query, lookbackMs }));
}

/** Runs `tail` with its parsed flags (defined in packages/cli/src/cli/commands/tail.ts). */
export async function runTail(ctx: CommandContext, flags: TailFlags): Promise<CommandResult> {
  if (flags.to !== undefined || flags.until !== undefined)
    throw new UsageError("tail reads up to now; --to and --until do not apply");
  if (flags.interval < 1) throw new UsageError("--interval must be at least 1ms");
  const format = chooseFormat(flags.format, ctx.io.stdout);
  if (format === "json" && flags.follow)
    throw new UsageError("--format json needs an end; use jsonl (or csv/table) with --follow");
  const filters = filtersToQuery(flags);
  const window = resolveWindow(flags, ctx.clock.now());
  const client = await ctx.client(flags);
  // Another log's checkpoint would silently skip everything before its position.
  const queryId = canonicalQuery(filters, flags.lookback, client);
  // Locked before it is read: a second tail on one checkpoint would print the same entries again.
  if (flags.checkpoint !== undefined) await ctx.lock("--checkpoint", flags.checkpoint);
  const saved = flags.checkpoint !== undefined ? await readCheckpoint(flags.checkpoint, queryId) : undefined;
  const start = window.from ?? nowTs();
  const state: TailState = saved ?? {
    start,
    position: start,
    seen: new Map(),
    printedBehind: 0,
    lateSkipped: 0,
  };
  const lookbackNs = BigInt(flags.lookback) * 1_000_000n;
  const sink = new EntrySink(format, ctx.io.stdout);
  if (!flags.quiet) {
    ctx.say(
      `tail ${saved ? "resuming" : "starting"} at ${formatTimestamp(state.position)} (UTC), lookback ${formatDurationMs(flags.lookback)}`,
    );
  }
  // See packages/cli/src/cli/tailLate.ts.
  const checkLate = async (): Promise<void> => {
    const floorNs = tsToNs(state.position) - lookbackNs;
    if (floorNs <= tsToNs(state.start)) return;
    const known = state.printedBehind === undefined ? 0 : state.printedBehind + state.lateSkipped;
    const n = await countEntries(client, filters, state.start, nsToTs(floorNs - 1n), known, ctx.signal);
    if (state.printedBehind === undefined) {
      state.printedBehind = n - state.lateSkipped;
      return;
    }
    if (n <= known) return;
    state.lateSkipped += n - known;
    ctx.io.stderr.write(
      lateLine(
        n - known,
        state.lateSkipped,
        formatDurationMs(flags.lookback),
        formatTimestamp(nsToTs(floorNs)),
      ),
    );
  };
  try {
    // The follow-poll source (packages/client/src/export/followPoll.ts) with tail's lookback: keys are remembered back
    // to the lookback behind the newest printed entry, so an entry met later (pushed to a later page by
    // entries landing before it, or re-read by the next poll) is printed once. One older than that
    // cannot be told from one already printed; it is a repeat, or a late arrival beyond the lookback,
    // which tail does not promise to print.
    const source = followPoll({
      client,
      filters,
      state,
      lookbackNs,
      perPage: flags.perPage,
      follow: flags.follow === true,
      intervalMs: flags.interval,
      clock: ctx.clock,
      signal: ctx.signal,
    });
    for await (const event of source) {
      if (event.kind === "page") {
        await sink.write(event.entries.map((e) => e.entry));
        event.ack();
        if (state.printedBehind !== undefined) state.printedBehind += event.forgotten;
        if (flags.checkpoint !== undefined && event.entries.length > 0)
          await writeCheckpoint(flags.checkpoint, queryId, state);
        continue;
      }
      await checkLate();
      if (flags.checkpoint !== undefined) await writeCheckpoint(flags.checkpoint, queryId, state);
    }
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
  }
  await sink.end();
  const stats = client.stats();
  return {
    ...(flags.quiet ? {} : { summary: `tail: ${sink.count} entries; ${requestSummary(stats)}` }),
    figures: { entries: sink.count, lateSkipped: state.lateSkipped, ...requestFigures(stats) },
  };
}
