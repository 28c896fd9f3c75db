/**
 * Backtesting: an export replayed through the rules, oldest first as written, with the evaluator
 * `watch` uses — so the alerts (and their keys) are those `watch` would have raised on those entries.
 * The file is read by the one export-file reader (packages/client/src/export/exportFile.ts), which refuses what is
 * not an audit-log entry, so a file of other JSON objects is not replayed as "N entries, 0 alerts".
 */

import { ExportFile, type ExportRecord } from "@clarifai-audit/client/internal/export/exportFile.js";
import type { Alert } from "./alert.js";
import { Evaluator } from "./evaluator.js";
import type { CompiledRule, RestEntry } from "./rules.js";

/** What a replay went through. */
export interface ReplayStats {
  entries: number;
  alerts: number;
  byRule: Map<string, number>;
  /** Learned (group, value) pairs of the new_value rules at the end. */
  learned: number;
}

/**
 * Replays the export at `path`; `onAlerts` gets each batch's alerts (awaited, for backpressure).
 * @throws InputError (packages/client/src/export/exportFile.ts) when the file cannot be read or is not an export.
 */
export function replayExport(
  rules: readonly CompiledRule[],
  path: string,
  onAlerts: (alerts: Alert[]) => Promise<void> | void,
): Promise<ReplayStats> {
  return replayRecords(rules, new ExportFile(path, { reader: "rules test" }), onAlerts);
}

/**
 * Replays a source of exported entries (an export file, a lake: anything that yields
 * {@link ExportRecord} batches) through the rules, in the order the source yields them.
 */
export async function replayRecords(
  rules: readonly CompiledRule[],
  source: AsyncIterable<ExportRecord[]>,
  onAlerts: (alerts: Alert[]) => Promise<void> | void,
): Promise<ReplayStats> {
  const evaluator = new Evaluator(rules);
  const stats: ReplayStats = { entries: 0, alerts: 0, byRule: new Map(), learned: 0 };
  for await (const batch of source) {
    const out: Alert[] = [];
    for (const { text: line, json } of batch) {
      stats.entries++;
      const alerts = evaluator.evaluate({ json: json as RestEntry, line });
      for (const a of alerts) out.push(a);
    }
    if (out.length > 0) {
      stats.alerts += out.length;
      for (const a of out) stats.byRule.set(a.rule, (stats.byRule.get(a.rule) ?? 0) + 1);
      await onAlerts(out);
    }
  }
  stats.learned = evaluator.learnedCount;
  return stats;
}
