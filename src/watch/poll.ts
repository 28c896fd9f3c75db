/**
 * One poll of the live log, as `tail --follow` does it (src/cli/tailCommand.ts): read from (newest
 * seen timestamp − lookback), inclusive, to now, oldest first, and hand on only the entries whose
 * dedupe key (src/domain/entryKey.ts) is not among the keys of that overlap. Equal timestamps and
 * entries that land late — up to the lookback behind the newest one — thus come out exactly once.
 */
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import type { AuditLogClient } from "../client/client.js";
import type { AuditLogSearchQuery } from "../client/query.js";
import { entryToJsonLine } from "../codec/index.js";
import { entryKey } from "../domain/entryKey.js";
import { compareTs, nowTs, nsToTs, type Ts, tsToNs } from "../domain/timestamps.js";

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
  const to = nowTs();
  const back = nsToTs(tsToNs(state.position) - lookbackNs);
  const from: Ts = compareTs(back, state.start) > 0 ? back : state.start;
  if (compareTs(from, to) > 0) return;
  for (let page = 1; ; page++) {
    const result = await client.search(
      { ...filters, from, to, page, perPage, sortAscending: true },
      options.signal ? { signal: options.signal } : {},
    );
    const fresh: FreshEntry[] = [];
    for (const e of result.entries) {
      const ts = e.timestamp ?? { seconds: 0, nanos: 0 };
      // Keys behind the lookback are forgotten: such an entry met later in this poll cannot be told
      // from one already handed on (the same limit as tail's).
      if (tsToNs(ts) < tsToNs(state.position) - lookbackNs) continue;
      const line = entryToJsonLine(e);
      const key = entryKey(e, line);
      if (state.seen.has(key)) continue;
      state.seen.set(key, tsToNs(ts));
      if (compareTs(ts, state.position) > 0) state.position = ts;
      fresh.push({ entry: e, line });
    }
    const floor = tsToNs(state.position) - lookbackNs;
    for (const [key, ns] of state.seen) if (ns < floor) state.seen.delete(key);
    await onPage(fresh);
    if (result.entries.length < perPage) break;
  }
}
