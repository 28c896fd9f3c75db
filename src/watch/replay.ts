/**
 * Backtesting: an export replayed through the rules, oldest first as written, with the evaluator
 * `watch` uses — so the alerts (and their keys) are those `watch` would have raised on those entries.
 */
import type { Alert } from "./alert.js";
import { Evaluator } from "./evaluator.js";
import { InputError, readExportLines } from "./exportReader.js";
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
  for await (const batch of readExportLines(path)) {
    const out: Alert[] = [];
    for (const line of batch) {
      stats.entries++;
      let json: RestEntry;
      try {
        json = JSON.parse(line) as RestEntry;
      } catch {
        throw new InputError(`--input: ${path}: entry ${stats.entries} is not valid JSON`);
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
