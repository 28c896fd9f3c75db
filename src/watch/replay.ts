/**
 * Backtesting: an export replayed through the rules, oldest first as written, with the evaluator
 * `watch` uses — so the alerts (and their keys) are those `watch` would have raised on those entries.
 */

import { NotAnEntryError, reportEntryFromJson } from "../report/entry.js";
import type { Alert } from "./alert.js";
import { Evaluator } from "./evaluator.js";
import { InputError, readNumberedExportLines } from "./exportReader.js";
import type { CompiledRule, RestEntry } from "./rules.js";

/** What a replay went through. */
export interface ReplayStats {
  entries: number;
  alerts: number;
  byRule: Map<string, number>;
  /** Learned (group, value) pairs of the new_value rules at the end. */
  learned: number;
}

/** Replays the export at `path`; `onAlerts` gets each batch's alerts (awaited, for backpressure). */
export async function replayExport(
  rules: readonly CompiledRule[],
  path: string,
  onAlerts: (alerts: Alert[]) => Promise<void> | void,
): Promise<ReplayStats> {
  const evaluator = new Evaluator(rules);
  const stats: ReplayStats = { entries: 0, alerts: 0, byRule: new Map(), learned: 0 };
  for await (const batch of readNumberedExportLines(path)) {
    const out: Alert[] = [];
    for (const { line: at, text: line, element } of batch) {
      stats.entries++;
      const where = `${element ? "element" : "line"} ${at}`;
      let json: RestEntry;
      try {
        json = JSON.parse(line) as RestEntry;
      } catch (error) {
        throw new InputError(`${path}: ${where}: not JSON (${(error as Error).message}); not an export`);
      }
      // An entry is what the report reads as one (src/report/entry.ts): one definition for both, so
      // a file of other JSON objects is refused, not replayed as "N entries, 0 alerts".
      try {
        reportEntryFromJson(json);
      } catch (error) {
        if (error instanceof NotAnEntryError)
          throw new InputError(`${path}: ${where}: not an audit-log entry: ${error.message}`);
        throw error;
      }
      const alerts = evaluator.evaluate({ json, line });
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
