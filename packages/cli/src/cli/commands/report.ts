/** The definition of `report`: its flags; the work is packages/cli/src/cli/reportCommand.ts's. */

import { EXPORT_MAX_ATTEMPTS, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import type { Command } from "commander";
import type { ReportFlags } from "../reportCommand.js";
import {
  addConnectionOptions,
  addFilterOptions,
  addOutputOptions,
  addWalkOptions,
  formatOption,
  settleOption,
  verboseOption,
} from "../sharedFlags.js";
import { FORMATS } from "../vocabulary.js";
import type { CommandRuns } from "./runs.js";

/** Registers `report`. */
export function defineReport(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("report")
    .description(
      "Build an activity report (one self-contained HTML page with charts and tables, a PDF, or its aggregates as JSON) of a window of the audit log, of an export file or of a Parquet lake.",
    )
    .requiredOption(
      "--out <file>",
      "the report to write (- for stdout: html or json); its CSV full lists go beside a PDF",
    )
    .addOption(
      formatOption(
        FORMATS.report,
        "the report's format (default: from the file name, .pdf or .json, else html)",
      ),
    )
    .option(
      "--pdf <file>",
      "also print the report to this PDF (needs Chromium: chromium on PATH, or CHROMIUM_PATH)",
    )
    .option("--title <text>", "the report's title (default: Audit-log activity report)")
    .option(
      "--input <file>",
      "report on an export file: JSONL or JSON (export --format jsonl|json), .gz too; without it or --lake, the live window the filters select (with it, only --from/--to/--since/--until: the window to report)",
    )
    .option(
      "--lake <dir>",
      "report on a Parquet lake written by sync --lake DIR: every entry, or those of --from/--to/--since/--until (not with --input)",
    )
    .addOption(settleOption("live window: "));
  addWalkOptions(cmd, {
    concurrency: "live window: most pages fetched in parallel",
    perPage: { prefix: "live window: ", default: MAX_PER_PAGE },
  });
  addOutputOptions(cmd, { quiet: true }).addOption(
    verboseOption(
      "live window: one line on stderr per request (page, offset, per_page, entries, ms, throttles, retries; never the PAT); --input and --lake make none",
    ),
  );
  addFilterOptions(cmd);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action((flags: ReportFlags) =>
    runs.run({ command: "report", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../reportCommand.js")).runReport(ctx, flags),
    ),
  );
}
