/** The definition of `search`: its flags; the work is packages/cli/src/cli/searchCommand.ts's. */
import type { Command } from "commander";
import { integerOption } from "../duration.js";
import type { SearchFlags } from "../searchCommand.js";
import {
  addConnectionOptions,
  addFilterOptions,
  addOutputOptions,
  addWalkOptions,
  entryFormatOption,
} from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

/** Registers `search`. */
export function defineSearch(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("search")
    .description("Search the audit log (one page, or every page with --all).")
    .option("--page <n>", "page number, from 1 (default 1)", integerOption("--page", 1, 1_000_000_000));
  addWalkOptions(cmd, { perPage: {} })
    .option("--asc", "oldest first (default: newest first, as the API)")
    .option("--all", "follow pages until the last one (the window's end is pinned at the first request)");
  addOutputOptions(cmd, { format: entryFormatOption(), quiet: true });
  addFilterOptions(cmd);
  addConnectionOptions(cmd);
  return cmd.action((flags: SearchFlags) =>
    runs.run({ command: "search", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../searchCommand.js")).runSearch(ctx, flags),
    ),
  );
}
