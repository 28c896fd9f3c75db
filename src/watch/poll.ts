/**
 * One poll of the live log, as `tail --follow` does it (src/cli/tailCommand.ts): read from (newest
 * seen timestamp − lookback), inclusive, to now, oldest first, and hand on only the entries whose
 * dedupe key (src/domain/entryKey.ts) is not among the keys of that overlap. Equal timestamps and
 * entries that land late — up to the lookback behind the newest one — thus come out exactly once.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import type { AuditLogClient } from "../client/client.js";
import type { AuditLogSearchQuery } from "../client/query.js";
import { entryKey } from "../codec/entryKey.js";
import { entryToJsonLine } from "../codec/index.js";
import type { Ts } from "../domain/timestamps.js";
import { type DedupeState, dedupeEntries, pollWindow } from "../export/dedupe.js";

/** Poll progress (what the checkpoint saves). */
export interface PollState {
  /** Nothing older is ever read (--from/--since, or the first run's now). */
  start: Ts;
  /** Newest timestamp handed on, or where the first poll started. */
  position: Ts;
  /** Keys of the entries handed on with timestamp ≥ position − lookback, with their timestamps. */
  seen: Map<string, bigint>;
}

/** A fresh entry with its canonical JSON line. */
export interface FreshEntry {
  entry: AuditLogEntry;
  line: string;
}

/**
 * Reads what is new since `state` and calls `onPage` with each page's fresh entries (possibly none),
 * after updating `state` to cover them, so that saving `state` inside `onPage` is saving progress.
 */
export async function pollOnce(
  client: AuditLogClient,
  filters: AuditLogSearchQuery,
  state: PollState,
  options: { lookbackNs: bigint; perPage: number; signal?: AbortSignal },
  onPage: (fresh: FreshEntry[]) => Promise<void>,
): Promise<void> {
  const { lookbackNs, perPage } = options;
  const window = pollWindow(state.position, state.start, lookbackNs);
  if (window === undefined) return;
  const { from, to } = window;
  for (let page = 1; ; page++) {
    const result = await client.search(
      { ...filters, from, to, page, perPage, sortAscending: true },
      options.signal ? { signal: options.signal } : {},
    );
    // The same boundary dedupe as tail's (src/export/dedupe.ts); each keyed entry's line is kept
    // so that a fresh one is printed once.
    const lines = new Map<AuditLogEntry, string>();
    const dedupe: DedupeState = { position: state.position, keys: state.seen };
    const { fresh } = dedupeEntries(result.entries, dedupe, lookbackNs, (e) => {
      const line = entryToJsonLine(e);
      lines.set(e, line);
      return entryKey(e, line);
    });
    state.position = dedupe.position ?? state.position;
    await onPage(fresh.map((entry) => ({ entry, line: lines.get(entry) ?? entryToJsonLine(entry) })));
    if (result.entries.length < perPage) break;
  }
}
