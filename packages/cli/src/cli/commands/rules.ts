/** The definitions of `rules check` and `rules test` (yaml and ajv load only in their work). */
import type { Command } from "commander";
import { collect } from "../duration.js";
import type { RulesTestFlags } from "../rulesCommand.js";
import { addConnectionOptions, addOutputOptions, alertFormatOption, refuseGroup } from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

/** Registers `rules check` and `rules test`. */
export function defineRules(program: Command, runs: CommandRuns): Command[] {
  const rules = program.command("rules").description("Validate rules files and backtest them on exports.");
  const check = rules
    .command("check")
    .description(
      "Validate rules files (or builtin): exit 0 when valid, else one line naming file, rule and field, exit 2.",
    )
    .argument("<file...>", "rules files, or builtin");
  addOutputOptions(check, {});
  refuseGroup(
    check,
    addConnectionOptions,
    "rules check reads rules files only; connection flags do not apply",
  );
  check.action((files: string[], flags: { json?: boolean }) =>
    runs.run({ command: "rules check", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../rulesCommand.js")).runRulesCheck(ctx, files),
    ),
  );
  const test = rules
    .command("test")
    .description(
      "Replay an export (JSON Lines or JSON array, optionally gzipped) or a lake and print the alerts that would have fired.",
    )
    .requiredOption("--rules <file>", "rules file, or builtin; repeatable", collect)
    .option("--input <file>", "an export: .jsonl, .json, either .gz")
    .option(
      "--lake <dir>",
      "every entry of a Parquet lake written by sync --to DIR, oldest first (not with --input)",
    );
  addOutputOptions(test, {
    format: alertFormatOption(),
    quiet: "no progress bar and no summary line on stderr",
  });
  refuseGroup(
    test,
    addConnectionOptions,
    "rules test replays an export file (--input) or a lake (--lake) and makes no request; connection flags do not apply",
  );
  test.action((flags: RulesTestFlags) =>
    runs.run({ command: "rules test", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../rulesCommand.js")).runRulesTest(ctx, flags),
    ),
  );
  return [check, test];
}
