/** The definition of `tail`: its flags; the work is packages/cli/src/cli/tailCommand.ts's. */

import { MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import type { Command } from "commander";
import {
  addConnectionOptions,
  addFilterOptions,
  addFollowOptions,
  addOutputOptions,
  addWalkOptions,
  entryFormatOption,
} from "../sharedFlags.js";
import type { TailFlags } from "../tailCommand.js";
import type { CommandRuns } from "./runs.js";

/** Registers `tail`. */
export function defineTail(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("tail")
    .description(
      "Print new entries oldest first; with --follow keep polling. Exactly once across restarts with --checkpoint.",
    );
  addFollowOptions(cmd, {
    follow: "keep polling until interrupted (SIGINT/SIGTERM end it cleanly, exit 0)",
    interval: ["time between polls with --follow", 10_000],
    lookback:
      "re-read this far behind the newest printed entry, for entries that land late (later ones are counted on stderr)",
  }).option("--checkpoint <file>", "resume from and save progress to this file (written atomically)");
  addWalkOptions(cmd, { perPage: { default: MAX_PER_PAGE } });
  addOutputOptions(cmd, { format: entryFormatOption(), quiet: true });
  addFilterOptions(cmd, "start");
  addConnectionOptions(cmd);
  return cmd.action((flags: TailFlags) =>
    runs.run({ command: "tail", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../tailCommand.js")).runTail(ctx, flags),
    ),
  );
}
