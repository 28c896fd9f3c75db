/**
 * The definitions of `search`, `export` and `tail`: flags, help texts and argument parsers. An
 * action imports its command's module (searchCommand.ts, exportCommand.ts, tailCommand.ts) when it
 * runs, so `--help`, `--version` and a usage error load neither the client nor the exporter, and each
 * command loads only its own implementation.
 */
import { type Command, Option } from "commander";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "../domain/limits.js";
import { durationOption, integerOption } from "./duration.js";
import type { ExportFlags } from "./exportCommand.js";
import { MEMORY_MODES } from "./exportMemory.js";
import type { SearchFlags } from "./searchCommand.js";
import { addConnectionOptions, addFilterOptions } from "./sharedFlags.js";
import type { TailFlags } from "./tailCommand.js";

/** Registers `search`. */
export function registerSearchCommand(program: Command): Command {
  const cmd = program
    .command("search")
    .description("Search the audit log (one page, or every page with --all).")
    .option("--page <n>", "page number, from 1 (default 1)", integerOption("--page", 1, 1_000_000_000))
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE} (default ${DEFAULT_PER_PAGE})`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
    )
    .option("--asc", "oldest first (default: newest first, as the API)")
    .option("--all", "follow pages until the last one (the window's end is pinned at the first request)")
    .option("--format <format>", "table | json | jsonl | csv (default: table on a terminal, else jsonl)")
    .option("-q, --quiet", "no informational lines on stderr");
  addFilterOptions(cmd);
  addConnectionOptions(cmd);
  return cmd.action(async (flags: SearchFlags) => (await import("./searchCommand.js")).runSearch(flags));
}

/** Registers `export`. */
export function registerExportCommand(program: Command): Command {
  const cmd = program
    .command("export")
    .description(
      "Export a pinned window of the audit log to a file: parallel, ordered, deduplicated, resumable.",
    )
    .requiredOption(
      "--out <file>",
      "output file; .gz compresses; FILE.partial and FILE.manifest.json live beside it",
    )
    .option("--format <format>", "jsonl | csv | json (default: from the file name, else jsonl)")
    .option(
      "--settle <duration>",
      "leave out the last duration before now (entries still landing)",
      durationOption("--settle"),
      60_000,
    )
    .option(
      "--concurrency <n>",
      "most pages fetched in parallel (fewer while the server throttles)",
      integerOption("--concurrency", 1, 64),
      12,
    )
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .option(
      "--commit-interval <duration>",
      "how often progress is made durable in the manifest (0 = every page)",
      durationOption("--commit-interval"),
      1000,
    )
    .addOption(
      new Option(
        "--memory <mode>",
        "lean: tune V8's garbage collector for a small, steady footprint; fast: V8's defaults (more RSS, a little less CPU)",
      )
        .choices(MEMORY_MODES)
        .default("lean"),
    )
    .option("--resume", "continue the interrupted export of FILE (same query required)")
    .option("--force", "overwrite FILE, or discard an interrupted export of it")
    .option("-q, --quiet", "no progress bar and no window line (the summary line stays)");
  addFilterOptions(cmd);
  addConnectionOptions(cmd);
  return cmd.action(async (flags: ExportFlags) =>
    (await import("./exportCommand.js")).runExportCommand(flags),
  );
}

/** Registers `tail`. */
export function registerTailCommand(program: Command): Command {
  const cmd = program
    .command("tail")
    .description(
      "Print new entries oldest first; with --follow keep polling. Exactly once across restarts with --checkpoint.",
    )
    .option("-f, --follow", "keep polling until interrupted (SIGINT/SIGTERM end it cleanly, exit 0)")
    .option("--interval <duration>", "time between polls with --follow", durationOption("--interval"), 10_000)
    .option(
      "--lookback <duration>",
      "re-read this far behind the newest printed entry, for entries that land late",
      durationOption("--lookback"),
      60_000,
    )
    .option("--checkpoint <file>", "resume from and save progress to this file (written atomically)")
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .option("--format <format>", "table | json | jsonl | csv (default: table on a terminal, else jsonl)")
    .option("-q, --quiet", "no informational lines on stderr");
  addFilterOptions(cmd);
  addConnectionOptions(cmd);
  return cmd.action(async (flags: TailFlags) => (await import("./tailCommand.js")).runTail(flags));
}
