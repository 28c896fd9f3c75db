/**
 * `clarifai-audit rules check FILE…` validates rules files; `rules test --rules FILE --input EXPORT`
 * (or `--lake DIR`) replays an export (or a lake) through them and prints the alerts that would
 * have fired (backtesting).
 */
import { ExportFile } from "@clarifai-audit/client/internal/export/exportFile.js";
import { type Alert, alertToJson, alertToText } from "../watch/alert.js";
import { put } from "../watch/dispatcher.js";
import { replayRecords } from "../watch/replay.js";
import { loadRules } from "../watch/rules.js";
import { UsageError } from "./exitCodes.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The flags of `rules test`. */
export interface RulesTestFlags {
  rules: string[];
  input?: string;
  lake?: string;
  format: string;
  quiet?: boolean;
  json?: boolean;
}

/**
 * Runs `rules check`: the files are loaded together, as `rules test` and `watch` load their
 * `--rules`, so an id defined twice (within a file, across files, or a file given twice) is refused
 * the same way; then one line per file.
 */
export async function runRulesCheck(ctx: CommandContext, files: string[]): Promise<CommandResult> {
  const rules = await loadRules(files);
  for (const file of new Set(files)) {
    const kinds = { plain: 0, threshold: 0, new_value: 0 };
    const own = rules.filter((r) => r.source === file);
    for (const r of own) kinds[r.threshold ? "threshold" : r.newValue ? "new_value" : "plain"]++;
    ctx.io.stdout.write(
      `${file}: ${own.length} rule(s) OK (${kinds.plain} per entry, ${kinds.threshold} threshold, ${kinds.new_value} new_value)\n`,
    );
  }
  return { figures: { files: files.length, rules: rules.length } };
}

/** Runs `rules test`. */
export async function runRulesTest(ctx: CommandContext, flags: RulesTestFlags): Promise<CommandResult> {
  if (flags.format !== "jsonl" && flags.format !== "text")
    throw new UsageError(`--format: "${flags.format}" is not one of jsonl, text`);
  if (flags.lake !== undefined && flags.input !== undefined)
    throw new UsageError("--lake: give one input, --lake DIR or --input FILE, not both");
  if (flags.lake === undefined && flags.input === undefined)
    throw new UsageError("--input: name an export to replay (or a lake: --lake DIR)");
  const rules = await loadRules(flags.rules);
  const text = flags.format === "text";
  const started = performance.now();
  const onAlerts = (alerts: Alert[]) =>
    put(ctx.io.stdout, `${alerts.map((a) => (text ? alertToText(a) : alertToJson(a))).join("\n")}\n`);
  // Alerts on the terminal would be drawn over: the bar only when stdout goes elsewhere.
  const progress = await ctx.progress(!flags.quiet && !ctx.io.stdout.isTTY);
  const { withProgress } = await import("./progress.js");
  const file = flags.input !== undefined ? new ExportFile(flags.input, { reader: "rules test" }) : undefined;
  // A lake is one more source of exported entries (packages/cli/src/sync/lake/records.ts); DuckDB loads only for it.
  const source = file ?? (await import("../sync/lake/records.js")).readLakeRecords(flags.lake as string);
  // A file's share read is its progress; a lake's size is not known up front: counts only.
  const fraction = file && (() => (file.size > 0 ? file.bytesRead / file.size : undefined));
  const stats = await replayRecords(rules, withProgress(source, progress, fraction), onAlerts);
  progress.stop();
  const per = [...stats.byRule].map(([rule, n]) => `${rule} ${n}`).join(", ");
  const seconds = (performance.now() - started) / 1000;
  return {
    ...(flags.quiet
      ? {}
      : {
          summary: `rules test: ${stats.entries} entries, ${stats.alerts} alert(s)${per ? ` (${per})` : ""} in ${seconds.toFixed(1)} s`,
        }),
    figures: { entries: stats.entries, alerts: stats.alerts, byRule: Object.fromEntries(stats.byRule) },
  };
}
